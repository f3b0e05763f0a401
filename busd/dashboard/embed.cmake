# Turns a file into a C array, so busd serves the dashboard with nothing
# to install beside it and nothing to fetch:
#
#   cmake -DINPUT=index.html -DOUTPUT=x.c -DNAME=busd_dashboard_index_html
#         -P embed.cmake
#
# defines NAME[] (the bytes, not NUL-terminated) and NAME_size.  Plain
# CMake, so the build needs no xxd.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes a line (CMake's regular expressions have no {16}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")
get_filename_component(source "${INPUT}" NAME)
file(WRITE "${OUTPUT}"
  "/* Generated from busd/dashboard/${source} by embed.cmake: edit that. */\n"
  "#include <stddef.h>\n\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_size;\n\n"
  "const unsigned char ${NAME}[] = {\n${bytes}\n};\n"
  "const size_t ${NAME}_size = ${size};\n")
