/* SPDX-License-Identifier: MIT */
/*
 * Keys and size of the terminal for busctl top.  The terminal is put in
 * non-canonical mode without echo, so that q, s, j, k and the page keys
 * act at once; ISIG stays on, so Ctrl-C still sends SIGINT and top ends
 * through its usual path, which gives the terminal back.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "busctl.h"
#include "top_keys.h"

static const char *const busctl_top_sort_names[BUSCTL_TOP_SORTS] = {
	[BUSCTL_TOP_SORT_NAME] = "name",
	[BUSCTL_TOP_SORT_DEPTH] = "depth",
	[BUSCTL_TOP_SORT_RATE] = "rate",
};

int busctl_top_sort_parse(const char *text, enum busctl_top_sort *sort)
{
	for (int i = 0; i < BUSCTL_TOP_SORTS; i++) {
		if (!strcmp(text, busctl_top_sort_names[i])) {
			*sort = (enum busctl_top_sort)i;
			return 0;
		}
	}
	return -1;
}

const char *busctl_top_sort_name(enum busctl_top_sort sort)
{
	return busctl_top_sort_names[sort];
}

void busctl_terminal_size(int *columns, int *lines)
{
	struct winsize size;

	*columns = 0;
	*lines = 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col) {
		*columns = size.ws_col;
		*lines = size.ws_row;
	}
}

void busctl_top_keys_start(struct busctl_top_keys *keys)
{
	struct termios raw;

	keys->active = 0;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &keys->saved))
		return;
	raw = keys->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		keys->active = 1;
}

void busctl_top_keys_stop(struct busctl_top_keys *keys)
{
	if (keys->active)
		tcsetattr(STDIN_FILENO, TCSANOW, &keys->saved);
	keys->active = 0;
}

/* The key in what one read() returned: a letter, or ESC [ 5 ~ / 6 ~. */
static enum busctl_top_key busctl_top_key_of(const char *in, ssize_t length)
{
	if (length >= 4 && in[0] == '\033' && in[1] == '[' && in[3] == '~')
		return in[2] == '5'   ? BUSCTL_TOP_KEY_PAGE_UP
		       : in[2] == '6' ? BUSCTL_TOP_KEY_PAGE_DOWN
				      : BUSCTL_TOP_KEY_OTHER;
	if (length >= 3 && in[0] == '\033' && in[1] == '[')
		return in[2] == 'B'   ? BUSCTL_TOP_KEY_DOWN
		       : in[2] == 'A' ? BUSCTL_TOP_KEY_UP
				      : BUSCTL_TOP_KEY_OTHER;
	switch (in[0]) {
	case 'q':
	case 'Q':
		return BUSCTL_TOP_KEY_QUIT;
	case 's':
		return BUSCTL_TOP_KEY_SORT;
	case 'j':
		return BUSCTL_TOP_KEY_DOWN;
	case 'k':
		return BUSCTL_TOP_KEY_UP;
	case ' ':
		return BUSCTL_TOP_KEY_PAGE_DOWN;
	}
	return BUSCTL_TOP_KEY_OTHER;
}

static void busctl_top_sleep(int ms)
{
	struct timespec left = { .tv_sec = ms / 1000,
				 .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (!busctl_stop_requested() && nanosleep(&left, &left) &&
	       errno == EINTR)
		;
}

enum busctl_top_key busctl_top_keys_wait(struct busctl_top_keys *keys, int ms)
{
	struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
	char buffer[16];
	ssize_t length;

	if (!keys->active) {
		busctl_top_sleep(ms);
		return BUSCTL_TOP_KEY_NONE;
	}
	if (busctl_stop_requested() || poll(&in, 1, ms) <= 0)
		return BUSCTL_TOP_KEY_NONE;
	length = read(STDIN_FILENO, buffer, sizeof(buffer));
	/* End of input (the terminal went away) ends top as q would. */
	if (length == 0)
		return BUSCTL_TOP_KEY_QUIT;
	if (length < 0)
		return BUSCTL_TOP_KEY_NONE;
	return busctl_top_key_of(buffer, length);
}
