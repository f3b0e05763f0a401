# SPDX-License-Identifier: MIT
# bash completion for busctl.
#
# Commands and each command's options come from `busctl --help` and
# `busctl help COMMAND` at completion time, so they are those of the
# busctl being completed; tests/test_busctl_completion.sh checks that.
# Queue and topic names come from `busctl ls` on the bus named by -b.

# The flags column of a help text's "Options:" (or global) block.
_busctl_options_of()
{
	awk '/^(Options|Global options.*):$/ { on = 1; next }
		/^$/ { on = 0 }
		on && /^  -/ { sub(/^  /, ""); split($0, f, "  "); print f[1] }' |
		grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[^-]*//'
}

_busctl_names()
{
	local bus=$1
	"${COMP_WORDS[0]}" ${bus:+-b "$bus"} ls 2>/dev/null |
		awk 'NR > 1 { print $1 }'
}

_busctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local busctl=${COMP_WORDS[0]}
	local command="" bus="" word i

	# Find the command and the bus: -b may come before or after it.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-b | --bus) bus=${COMP_WORDS[i + 1]}; ((i++)) ;;
		--bus=*) bus=${word#--bus=} ;;
		-*) ;;
		*) [[ -z $command ]] && command=$word ;;
		esac
	done

	case $prev in
	-b | --bus)
		local shm
		COMPREPLY=()
		for shm in /dev/shm/shmbus.*; do
			shm=${shm#/dev/shm/shmbus.}
			[[ $shm == *:* || $shm == '*' ]] && continue
			[[ $shm == "$cur"* ]] && COMPREPLY+=("$shm")
		done
		return
		;;
	--type) COMPREPLY=($(compgen -W "spsc mpmc" -- "$cur")); return ;;
	--overflow)
		COMPREPLY=($(compgen -W "block reject drop-oldest" -- "$cur"))
		return
		;;
	--slow-subscriber)
		COMPREPLY=($(compgen -W "block overwrite" -- "$cur"))
		return
		;;
	--sort) COMPREPLY=($(compgen -W "depth rate name" -- "$cur")); return ;;
	--speed) COMPREPLY=($(compgen -W "1x 2x 10x max" -- "$cur")); return ;;
	--to | --from)
		# dump and replay take a sequence or a time there.
		[[ $command == dump || $command == replay ]] && return
		COMPREPLY=($(compgen -W "$(_busctl_names "$bus")" -- "$cur"))
		return
		;;
	--dead-letter | --reply | --reply-to | --into)
		COMPREPLY=($(compgen -W "$(_busctl_names "$bus")" -- "$cur"))
		return
		;;
	esac

	if [[ -z $command ]]; then
		local commands globals
		commands=$("$busctl" --help 2>/dev/null |
			sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
		if [[ $cur == -* ]]; then
			globals=$("$busctl" --help 2>/dev/null | _busctl_options_of)
			COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi
	if [[ $command == help && $cur != -* ]]; then
		COMPREPLY=($(compgen -W "$("$busctl" --help 2>/dev/null |
			sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')" \
			-- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$busctl" help "$command" 2>/dev/null |
			_busctl_options_of)" -- "$cur"))
		return
	fi
	case $command in
	pub | request | consume | sub | stat | delete | peek | purge)
		COMPREPLY=($(compgen -W "$(_busctl_names "$bus")" -- "$cur"))
		;;
	record)
		# NAME, then the journal directory.
		if [[ $prev == record ]]; then
			COMPREPLY=($(compgen -W "$(_busctl_names "$bus")" \
				-- "$cur"))
		else
			COMPREPLY=($(compgen -d -- "$cur"))
		fi
		;;
	dump | replay) COMPREPLY=($(compgen -f -- "$cur")) ;;
	route)
		[[ $COMP_CWORD -le 2 || $prev == route ]] &&
			COMPREPLY=($(compgen -W "ls add del unroutable" -- "$cur"))
		;;
	esac
}
complete -F _busctl busctl
