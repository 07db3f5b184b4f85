/* echo.h: the benchmarks' Fwpuclnt (echo.c). Its CDEF block joins the cffi
 * cdef only in builds with WSAPEER_FWPUCLNT=echo, which are made for the
 * benchmarks in a temporary folder and never installed.
 */
#ifndef WSAPEER_ECHO_H
#define WSAPEER_ECHO_H

#include "fwpuclnt.h"

/* CDEF BEGIN */
/* ---- the benchmarks' endpoint (builds with WSAPEER_FWPUCLNT=echo) ---- */
/* Calls answered so far. */
uint64_t wsapeer_echo_calls(void);
/* Copies up to cap bytes of the last buffer received into buf (may be NULL
 * when cap is 0); returns its size. */
size_t wsapeer_echo_last(uint8_t *buf, size_t cap);
/* CDEF END */

#endif
