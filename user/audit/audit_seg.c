// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_seg.c - list, read, rotate and compress the segments of an audit
 * log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "audit_seg.h"

static void split(const char *live, char *dir, size_t dlen, char *base,
		  size_t blen)
{
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s", live);
	snprintf(b, sizeof(b), "%s", live);
	snprintf(dir, dlen, "%s", dirname(a));
	snprintf(base, blen, "%s", basename(b));
}

static int seg_cmp(const void *a, const void *b)
{
	const struct tw_seg *x = a, *y = b;

	/* oldest (highest index) first; the live file (0) last */
	if (x->index == y->index)
		return (int)y->gz - (int)x->gz;
	if (!x->index || !y->index)
		return x->index ? -1 : 1;
	return x->index > y->index ? -1 : 1;
}

int tw_segs_list(const char *live, struct tw_seg **segs, size_t *n)
{
	char dir[4096], base[1024];
	struct tw_seg *v = NULL, *nv;
	size_t nv_n = 0, blen;
	struct dirent *de;
	struct stat st;
	DIR *d;

	*segs = NULL;
	*n = 0;
	split(live, dir, sizeof(dir), base, sizeof(base));
	blen = strlen(base);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		char *end;
		unsigned long idx;
		bool gz = false;

		if (strncmp(s, base, blen) || s[blen] != '.' ||
		    s[blen + 1] < '1' || s[blen + 1] > '9')
			continue;
		idx = strtoul(s + blen + 1, &end, 10);
		if (!strcmp(end, ".gz"))
			gz = true;
		else if (*end)
			continue;
		nv = realloc(v, (nv_n + 1) * sizeof(*v));
		if (!nv) {
			closedir(d);
			free(v);
			return -ENOMEM;
		}
		v = nv;
		memset(&v[nv_n], 0, sizeof(*v));
		snprintf(v[nv_n].path, sizeof(v->path), "%s/%s", dir, s);
		v[nv_n].index = (unsigned)idx;
		v[nv_n].gz = gz;
		nv_n++;
	}
	closedir(d);
	if (!stat(live, &st)) {
		nv = realloc(v, (nv_n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		memset(&v[nv_n], 0, sizeof(*v));
		snprintf(v[nv_n].path, sizeof(v->path), "%s", live);
		nv_n++;
	}
	if (nv_n)
		qsort(v, nv_n, sizeof(*v), seg_cmp);
	/* FILE.N and FILE.N.gz both: compression finished, the plain copy
	 * was not removed yet. The .gz (sorted first) is the segment. */
	for (size_t i = 1; i < nv_n;) {
		if (v[i].index && v[i].index == v[i - 1].index) {
			memmove(&v[i], &v[i + 1], (nv_n - i - 1) * sizeof(*v));
			nv_n--;
			continue;
		}
		i++;
	}
	*segs = v;
	*n = nv_n;
	return 0;
}

int tw_seg_read(const struct tw_seg *s, const struct tw_seg_cb *cb)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	unsigned long lineno = 0;
	int ret = 0, errnum = 0;
	const char *msg;
	gzFile gz;

	if (!buf)
		return -ENOMEM;
	gz = gzopen(s->path, "rbe");
	if (!gz) {
		ret = errno ? -errno : -ENOMEM;
		free(buf);
		return ret;
	}
	gzbuffer(gz, 128 * 1024);
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		if (!gzgets(gz, buf + len, (int)(cap - len))) {
			msg = gzerror(gz, &errnum);
			if (errnum != Z_OK && errnum != Z_STREAM_END) {
				if (cb->damaged)
					cb->damaged(cb->arg, s, lineno,
						    errnum == Z_ERRNO ?
							    strerror(errno) :
							    msg);
				break;
			}
			/* a last line without '\n' (being written) */
			if (len) {
				ret = cb->line(cb->arg, s, ++lineno, buf, len);
				len = 0;
			}
			break;
		}
		len += strlen(buf + len);
		if (!len || buf[len - 1] != '\n')
			continue; /* a longer line: read on */
		ret = cb->line(cb->arg, s, ++lineno, buf, len - 1);
		len = 0;
		if (ret)
			break;
	}
	gzclose(gz);
	free(buf);
	return ret;
}

int tw_segs_read(const struct tw_seg *segs, size_t n,
		 const struct tw_seg_cb *cb)
{
	for (size_t i = 0; i < n; i++) {
		int ret = tw_seg_read(&segs[i], cb);

		if (ret == -ENOENT)
			continue; /* rotated away while we read */
		if (ret < 0 && cb->damaged) {
			cb->damaged(cb->arg, &segs[i], 0, strerror(-ret));
			continue;
		}
		if (ret)
			return ret;
	}
	return 0;
}

struct first_arg {
	char *line;
};

static int first_cb(void *arg, const struct tw_seg *s, unsigned long lineno,
		    const char *text, size_t len)
{
	struct first_arg *f = arg;

	(void)s;
	(void)lineno;
	f->line = strndup(text, len);
	return 1;
}

int tw_seg_first_line(const struct tw_seg *s, char **line)
{
	struct first_arg f = {};
	struct tw_seg_cb cb = { .line = first_cb, .arg = &f };
	int ret = tw_seg_read(s, &cb);

	if (ret < 0)
		return ret;
	if (!f.line)
		return -ENODATA;
	*line = f.line;
	return 0;
}

int tw_seg_compress(const char *plain, const char *gzpath)
{
	char tmp[4200], buf[65536];
	int in, out = -1, ret = 0;
	gzFile gz = NULL;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", gzpath);
	in = open(plain, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		goto out;
	}
	gz = gzdopen(dup(out), "wb6");
	if (!gz) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
			int e;

			gzerror(gz, &e);
			ret = e == Z_ERRNO && errno ? -errno : -EIO;
			goto out;
		}
	}
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	n = gzclose(gz);
	gz = NULL;
	if (n != Z_OK) {
		ret = n == Z_ERRNO && errno ? -errno : -EIO;
		goto out;
	}
	if (fsync(out) || rename(tmp, gzpath))
		ret = -errno;
out:
	if (gz)
		gzclose(gz);
	if (out >= 0)
		close(out);
	close(in);
	if (ret)
		unlink(tmp);
	return ret;
}

static uint64_t seq_of_line(const char *line)
{
	const char *p = strstr(line, "\"seq\":");

	return p ? strtoull(p + 6, NULL, 10) : 0;
}

int tw_seg_rotate(const char *live, unsigned keep, struct tw_rotation *r)
{
	char one[4200], one_gz[4200], from[4200], to[4200];
	struct tw_seg *segs = NULL;
	size_t n = 0;
	struct stat st;
	char *first = NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	if (keep < 1)
		keep = 1;
	snprintf(one, sizeof(one), "%s.1", live);
	snprintf(one_gz, sizeof(one_gz), "%s.1.gz", live);
	/* An interrupted rotation left FILE.1 uncompressed: finish it. */
	if (!stat(one, &st)) {
		if (stat(one_gz, &st)) {
			ret = tw_seg_compress(one, one_gz);
			if (ret)
				return ret;
		}
		unlink(one);
	}
	ret = tw_segs_list(live, &segs, &n);
	if (ret)
		return ret;
	/* Oldest first: drop what would go beyond KEEP, shift the rest. */
	for (size_t i = 0; i < n; i++) {
		if (!segs[i].index)
			continue;
		if (segs[i].index >= keep) {
			if (!unlink(segs[i].path))
				r->removed++;
			continue;
		}
		snprintf(from, sizeof(from), "%s", segs[i].path);
		snprintf(to, sizeof(to), "%s.%u%s", live, segs[i].index + 1,
			 segs[i].gz ? ".gz" : "");
		if (rename(from, to)) {
			ret = -errno;
			goto out;
		}
	}
	if (rename(live, one)) {
		ret = -errno;
		goto out;
	}
	ret = tw_seg_compress(one, one_gz);
	if (ret)
		goto out; /* FILE.1 stays readable; the next rotation retries */
	unlink(one);
	snprintf(r->segment, sizeof(r->segment), "%s", one_gz);
	free(segs);
	segs = NULL;
	/* the first seq of what is now the oldest segment */
	if (!tw_segs_list(live, &segs, &n) && n &&
	    !tw_seg_first_line(&segs[0], &first)) {
		r->retained_from = seq_of_line(first);
		free(first);
	}
out:
	free(segs);
	return ret;
}
