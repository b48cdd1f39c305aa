/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h - small shared helpers: messages, paths, the control socket
 * client.
 */
#ifndef TW_UTIL_H
#define TW_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "paths.h"

/*
 * With -j, a command's errors are JSON on stdout: one object
 * {"ok":false,"error":FIRST,"where":WHERE,"errors":[{"error","where"}...]}
 * printed when the command returns, and the exit status is never 0 then.
 */
/* Collect errors from now on; WHERE (the command) is their default place.
 * NULL: stop collecting (errors go to stderr again). */
void tw_error_json(const char *where);
bool tw_error_json_on(void);
/* Collect MSG at WHERE (NULL: the default). false when not collecting. */
bool tw_error_json_add(const char *where, const char *msg);
/*
 * Print what was collected, if anything, and return the exit status:
 * STATUS, or 1 when errors were collected and STATUS was 0.
 */
int tw_error_flush(int status);

/* "Error: ..." on stderr, bpftool style (with -j: collected, see above). */
void tw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same about WHERE ("FILE:LINE:COL", "--dst"): "Error: WHERE: ...". */
void tw_error_at(const char *where, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool tw_quiet;

/* The version of the control and launch protocols, "v" in every message
 * (toolwall-protocol(7)). */
#define TW_CTL_VERSION 1

/* The listen backlog of the control and launch sockets: a burst of
 * clients waits in the kernel, not in a refused connect. A client's
 * connect waits at most TW_CTL_CONNECT_S seconds for room in it. */
#define TW_CONTROL_BACKLOG 1024
#define TW_CTL_CONNECT_S 10

/* The socket path, overridable with TOOLWALL_CONTROL for tests. */
const char *tw_control_path(void);

/*
 * Send one JSON request line to the daemon and read one JSON reply line.
 * Returns the reply (caller decrefs) or NULL with errno set (ECONNREFUSED /
 * ENOENT when no daemon runs).
 */
json_t *tw_control_call(json_t *req);

/* Read/write a whole line-oriented JSON message on a stream socket (send
 * also writes to a file or a pipe). 0 or -errno. */
int tw_send_json(int fd, json_t *msg);
/* Each whole line of BUF (*LEN bytes) parsed and given to FN (a line that
 * is no JSON is skipped), and taken out of BUF; stops at FN's first result
 * >= 0 and returns it, else -1 when no whole line is left. */
int tw_json_lines(char *buf, size_t *len, int (*fn)(json_t *m, void *arg),
		  void *arg);
json_t *tw_recv_json(int fd, int timeout_ms);

/* RFC 3339 UTC timestamp with nanoseconds from a CLOCK_REALTIME value. */
void tw_rfc3339(uint64_t realtime_ns, char *buf, size_t len);
uint64_t tw_now_ns(int clock);

/* Format an address (family 4 or 6, network order) as text. */
void tw_addr_str(int family, const uint8_t *addr, char *buf, size_t len);

/* mkdir -p with MODE for every created component. */
int tw_mkdir_p(const char *path, unsigned mode);

/* Write a whole file atomically (tmp + rename). */
int tw_write_file_atomic(const char *path, const char *data, size_t len,
			 unsigned mode);

/*
 * "ADDR:PORT" or "[V6]:PORT" (numeric only) into SS. Port 0 only when
 * PORT0_OK (a listener the kernel picks the port for). 0 or -EINVAL.
 */
int tw_sockaddr_parse(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len, bool port0_ok);

#endif
