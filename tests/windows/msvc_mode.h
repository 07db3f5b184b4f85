/* msvc_mode.h: force-included (-include) by tests/windows/run's compiles
 * in clang's MSVC mode (--target=*-windows-msvc, no __GNUC__), so that
 * mingw-w64's headers, the only Windows headers Debian has, can be read
 * there. It changes how the headers are read, never wsapeer's code: what the
 * check is for is the code's _MSC_VER branches, which cl.exe alone compiles
 * otherwise (on GitHub's runners).
 *
 * Without it, in this order (clang 14, mingw-w64 10):
 *  - aarch64: vadefs.h stops at "#error VARARGS not implemented for this
 *    TARGET" (its MSVC branch knows x86 and x64 only);
 *  - _mingw.h defines __attribute__(x) as nothing for a compiler without
 *    __GNUC__, and clang's own intrinsic headers, which winnt.h includes,
 *    then fail ("passing '__v2si' (aka 'int') to parameter of incompatible
 *    type ... vector of 2 'int' values");
 *  - stdlib.h puts __MINGW_ATTRIB_NORETURN and __MINGW_ATTRIB_DEPRECATED,
 *    which _mingw.h makes __declspec(...) for MSVC, after the declarator,
 *    where clang takes no __declspec ("expected ';' after top level
 *    declarator").
 */
#ifndef WSAPEER_MSVC_MODE_H
#define WSAPEER_MSVC_MODE_H

#if defined(__GNUC__) || !defined(_MSC_VER)
#  error "msvc_mode.h is for clang in MSVC mode: _MSC_VER defined, __GNUC__ not"
#endif

#if defined(_M_ARM64)
/* clang's stdarg.h (its resource headers come before mingw-w64's, which
 * are -idirafter) gives va_list; vadefs.h, which has none for ARM64, is
 * then not read. */
#  include <stdarg.h>
#  define _INC_VADEFS
#  define _VA_LIST_DEFINED
#endif

#include <_mingw.h>

/* clang understands GNU attributes in MSVC mode too. */
#undef __attribute__
#undef __MINGW_ATTRIB_NORETURN
#define __MINGW_ATTRIB_NORETURN __attribute__((__noreturn__))
#undef __MINGW_ATTRIB_DEPRECATED
#define __MINGW_ATTRIB_DEPRECATED __attribute__((__deprecated__))

#endif
