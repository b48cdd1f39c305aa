/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_seg.h - the segments of an audit log: the live file FILE and the
 * rotated ones, FILE.1.gz (newest) ... FILE.N.gz (oldest), gzip (zlib).
 * Reading goes through every segment oldest first, transparently; a
 * damaged segment is reported and reading goes on with the next one.
 * No logging: errors are -errno or callbacks.
 */
#ifndef TW_AUDIT_SEG_H
#define TW_AUDIT_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tw_seg {
	char path[4096];
	unsigned index; /* 0: the live file; N: FILE.N[.gz] */
	bool gz;
};

/*
 * The segments of the log whose live file is LIVE, oldest first, the live
 * file last (when it exists). *SEGS is malloc'd. 0 or -errno.
 */
int tw_segs_list(const char *live, struct tw_seg **segs, size_t *n);

struct tw_seg_cb {
	/* One line without its '\n'. A non-zero return stops the reading
	 * and is returned. */
	int (*line)(void *arg, const struct tw_seg *s, unsigned long lineno,
		    const char *text, size_t len);
	/* The segment is damaged after line LINENO; reading goes on with
	 * the next segment. */
	void (*damaged)(void *arg, const struct tw_seg *s, unsigned long lineno,
			const char *why);
	void *arg;
};

/* Read one segment, or every segment, oldest first. 0, -errno, or the
 * callback's stop value. */
int tw_seg_read(const struct tw_seg *s, const struct tw_seg_cb *cb);
int tw_segs_read(const struct tw_seg *segs, size_t n,
		 const struct tw_seg_cb *cb);

/* The first line of segment S (for its first seq), malloc'd in *LINE. */
int tw_seg_first_line(const struct tw_seg *s, char **line);

/* gzip PLAIN into GZ (through GZ.tmp, fsync'd, then renamed). */
int tw_seg_compress(const char *plain, const char *gz);

struct tw_rotation {
	char segment[4096];	  /* what the live file became: FILE.1.gz */
	unsigned removed;	  /* segments removed by retention */
	uint64_t retained_from;	  /* first seq of the oldest kept segment */
};

/*
 * Rotate: drop segments beyond KEEP (>= 1), shift FILE.k.gz to
 * FILE.(k+1).gz, move LIVE to FILE.1 and compress it to FILE.1.gz. The
 * caller has closed LIVE and opens a new one after. A FILE.1 left
 * uncompressed by an interrupted rotation is compressed first. 0 or -errno
 * (the live file is then still in place or already moved to FILE.1).
 */
int tw_seg_rotate(const char *live, unsigned keep, struct tw_rotation *r);

#endif
