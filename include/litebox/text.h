/* SPDX-License-Identifier: MIT */
/* Small text facts every module shares, each written once: UTF-8
 * validity, and the duration and size words of the policy language and
 * the command line. */
#ifndef LITEBOX_TEXT_H
#define LITEBOX_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 sequence at s (left > 0 bytes), 0 when
 * invalid: a bad lead or continuation byte, truncated, overlong, a
 * surrogate or beyond U+10FFFF. */
size_t lb_utf8_seq(const unsigned char *s, size_t left);
/* The code point of the valid n-byte UTF-8 sequence at s. */
uint32_t lb_utf8_cp(const unsigned char *s, size_t n);
/* A character a terminal or an editor acts on instead of showing: a C1
 * control, or a bidirectional override or isolate that reorders what
 * follows (a name could make a line read as something else). Written
 * escaped wherever litebox shows a name. */
bool lb_cp_unsafe(uint32_t cp);
/* Offset of the first byte that is not valid UTF-8, or len. */
size_t lb_utf8_invalid_at(const unsigned char *s, size_t len);

/* A bare decimal number. 0, -EINVAL, -ERANGE. */
int lb_parse_count(const char *s, uint64_t *out);
/* "90s", "5m", "1h", "250ms", or a bare number of seconds. 0, -EINVAL for
 * any other form, -ERANGE on overflow. */
int lb_parse_duration_ms(const char *s, uint64_t *out);
/* "512", "64K", "2M", "1G", "1T" (also "KB"/"KiB" forms, any case of the
 * unit letter), in bytes. 0, -EINVAL, -ERANGE. */
int lb_parse_size(const char *s, uint64_t *out);

#endif
