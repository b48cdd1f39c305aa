/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_policy.c - the policy parser: connect entries, ports, names, every
 * kind of object, the diagnostics of malformed snippets (exact location,
 * message substring, exact count), the malformed corpus in
 * tests/malformed/, the reference policy, the loader and the locator.
 *
 * Tables first, one row per case; each row runs as its own cmocka test.
 * Run from the repository root.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "locate.h"
#include "service.h"

/* ------------------------------------------------------------------ */
/* Connect entries that parse, and what they parse to                  */

struct ep_ok {
	const char *text;
	enum tw_proto proto;
	enum tw_host_kind kind;
	int family;	  /* CIDR */
	const char *addr; /* CIDR: inet_pton form */
	int prefixlen;
	const char *name; /* NAME/WILDCARD/UNIX */
	const char *ports;
};

#define TCP TW_PROTO_TCP
#define UDP TW_PROTO_UDP
#define UNX TW_PROTO_UNIX

static const struct ep_ok ep_ok[] = {
	{ "api.tracker.example:443", TCP, TW_HOST_NAME, 0, NULL, 0,
	  "api.tracker.example", "443" },
	{ "10.20.0.0/16:5432", TCP, TW_HOST_CIDR, 4, "10.20.0.0", 16, NULL,
	  "5432" },
	{ "[2001:db8::/48]:443", TCP, TW_HOST_CIDR, 6, "2001:db8::", 48, NULL,
	  "443" },
	{ "*.tracker-cdn.example:443", TCP, TW_HOST_WILDCARD, 0, NULL, 0,
	  "tracker-cdn.example", "443" },
	{ "udp://198.51.100.7:123", UDP, TW_HOST_CIDR, 4, "198.51.100.7", 32,
	  NULL, "123" },
	{ "unix:/run/tracker.sock", UNX, TW_HOST_UNIX, 0, NULL, 0,
	  "/run/tracker.sock", "" },
	{ "unix:/run//toolwall/x.sock/", UNX, TW_HOST_UNIX, 0, NULL, 0,
	  "/run/toolwall/x.sock", "" },
	{ "tcp://10.0.0.1", TCP, TW_HOST_CIDR, 4, "10.0.0.1", 32, NULL,
	  "0-65535" },
	{ "[::1]:53", TCP, TW_HOST_CIDR, 6, "::1", 128, NULL, "53" },
	{ "udp://[::1]", UDP, TW_HOST_CIDR, 6, "::1", 128, NULL, "0-65535" },
	{ "[::/0]:443", TCP, TW_HOST_CIDR, 6, "::", 0, NULL, "443" },
	{ "0.0.0.0/0", TCP, TW_HOST_CIDR, 4, "0.0.0.0", 0, NULL, "0-65535" },
	{ "[::ffff:10.0.0.1]:80", TCP, TW_HOST_CIDR, 6, "::ffff:10.0.0.1", 128,
	  NULL, "80" },
	{ "API.Example.COM.:80", TCP, TW_HOST_NAME, 0, NULL, 0,
	  "api.example.com", "80" },
	{ "localhost:5432", TCP, TW_HOST_NAME, 0, NULL, 0, "localhost",
	  "5432" },
	{ "udp://*.x.example:53", UDP, TW_HOST_WILDCARD, 0, NULL, 0,
	  "x.example", "53" },
	{ "10.10.1.0/24:80,443", TCP, TW_HOST_CIDR, 4, "10.10.1.0", 24, NULL,
	  "80,443" },
	/* the protocol as the audit table prints it, after the ports */
	{ "10.0.0.1:53/udp", UDP, TW_HOST_CIDR, 4, "10.0.0.1", 32, NULL, "53" },
	{ "[fd00::1]:443/tcp", TCP, TW_HOST_CIDR, 6, "fd00::1", 128, NULL,
	  "443" },
	{ "10.0.0.0/8/UDP", UDP, TW_HOST_CIDR, 4, "10.0.0.0", 8, NULL,
	  "0-65535" },
	{ "udp://api.example:53/udp", UDP, TW_HOST_NAME, 0, NULL, 0,
	  "api.example", "53" },
	{ "a.example:8000-8999,443,8443-8450,80", TCP, TW_HOST_NAME, 0, NULL,
	  0, "a.example", "80,443,8000-8999" },
	{ "a.example:80,81,82-90,79", TCP, TW_HOST_NAME, 0, NULL, 0,
	  "a.example", "79-90" },
	{ "a.example:1-65535", TCP, TW_HOST_NAME, 0, NULL, 0, "a.example",
	  "1-65535" },
	{ "x1-2.e-x.example:65535", TCP, TW_HOST_NAME, 0, NULL, 0,
	  "x1-2.e-x.example", "65535" },
};

static void ports_str(const struct tw_port_range *r, size_t n, char *buf,
		      size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		if (r[i].lo == r[i].hi)
			o += (size_t)snprintf(buf + o, len - o, "%s%u",
					      i ? "," : "", r[i].lo);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%u-%u",
					      i ? "," : "", r[i].lo, r[i].hi);
	}
}

static void test_endpoint_ok(void **state)
{
	const struct ep_ok *t = *state;
	struct tw_endpoint ep;
	uint8_t addr[16] = { 0 };
	char err[160] = "", ports[128];

	if (tw_endpoint_parse(t->text, &ep, err, sizeof(err)))
		fail_msg("%s: %s", t->text, err);
	assert_int_equal(ep.proto, t->proto);
	assert_int_equal(ep.kind, t->kind);
	assert_string_equal(ep.text, t->text);
	if (t->kind == TW_HOST_CIDR) {
		assert_int_equal(ep.family, t->family);
		assert_int_equal(inet_pton(t->family == 4 ? AF_INET : AF_INET6,
					   t->addr, addr), 1);
		assert_memory_equal(ep.addr, addr, sizeof(addr));
		assert_int_equal(ep.prefixlen, t->prefixlen);
		assert_null(ep.name);
	} else {
		assert_non_null(ep.name);
		assert_string_equal(ep.name, t->name);
	}
	ports_str(ep.ports, ep.nports, ports, sizeof(ports));
	assert_string_equal(ports, t->ports);
	if (t->kind == TW_HOST_UNIX)
		assert_int_equal(ep.nports, 0);
	tw_endpoint_free(&ep);
}

/* ------------------------------------------------------------------ */
/* Connect entries that do not parse, and why                          */

struct ep_bad {
	const char *text;
	const char *err; /* substring */
};

static const struct ep_bad ep_bad[] = {
	{ "10.0.0.1/8:443", "host bits set in 10.0.0.1/8, did you mean "
			    "10.0.0.0/8?" },
	{ "[2001:db8::1/32]", "did you mean 2001:db8::/32?" },
	{ "10.0.0.0/33", "invalid prefix length (0-32)" },
	{ "[::/129]", "invalid prefix length (0-128)" },
	{ "10.0.0.0/", "invalid prefix length" },
	{ "1.2.3", "invalid IPv4 address" },
	{ "010.0.0.1", "invalid IPv4 address" },
	{ "[10.0.0.1]:80", "invalid IPv6 address" },
	{ "[fe80::1%eth0]:80", "invalid IPv6 address" },
	{ "[::1", "missing ']'" },
	{ "[::1]80", "expected ':PORTS' after ']'" },
	{ "[]:80", "missing host" },
	{ ":443", "missing host" },
	{ "udp://", "missing host" },
	{ "", "missing host" },
	{ "2001:db8::1", "IPv6 addresses go in brackets" },
	{ "ftp://a.example", "unknown protocol" },
	{ "TCP://a.example", "unknown protocol" },
	{ "unix:", "unix socket path must be an absolute path" },
	{ "unix:x.sock", "must be an absolute path" },
	{ "unix:/run/./x", "must not contain \".\" or \"..\" components" },
	{ "*", "a bare wildcard" },
	{ "*.", "a bare wildcard" },
	{ "*.:80", "a bare wildcard" },
	{ "*example.com", "'*' is only allowed as a leading \"*.\" label" },
	{ "*.*.example", "'*' is only allowed as a leading" },
	{ "a..example", "empty label in DNS name" },
	{ ".example", "empty label in DNS name" },
	{ "a.example-", "must not start or end with '-'" },
	{ "a b.example", "invalid character in DNS name" },
	{ "a.example:http", "invalid port list" },
	{ "a.example:80;90", "invalid port list" },
	{ "a.example:80-", "empty port in port list" },
	{ "a.example:0-100", "port 0 is not a valid port" },
	{ "udp://a.example:53/tcp", "two protocols: udp and /tcp" },
	{ "a.example:53/sctp", "invalid port list" },
	{ "a.example/udp/udp", "invalid character in DNS name" },
	{ "a.example:99999999999999999999", "is out of range (1-65535)" },
};

static void test_endpoint_bad(void **state)
{
	const struct ep_bad *t = *state;
	struct tw_endpoint ep;
	char err[160] = "";

	assert_int_equal(tw_endpoint_parse(t->text, &ep, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, t->err))
		fail_msg("%s: got \"%s\", want \"%s\"", t->text, err, t->err);
	assert_null(ep.text);
	assert_null(ep.ports);
}

static void test_unix_path_limit(void **state)
{
	char text[5 + TW_UNIX_PATH_MAX + 2], err[160];
	struct tw_endpoint ep;

	(void)state;
	memcpy(text, "unix:/", 6);
	memset(text + 6, 'a', TW_UNIX_PATH_MAX - 1);
	text[5 + TW_UNIX_PATH_MAX] = '\0'; /* exactly 107 bytes */
	assert_int_equal(tw_endpoint_parse(text, &ep, err, sizeof(err)), 0);
	assert_int_equal(strlen(ep.name), TW_UNIX_PATH_MAX);
	tw_endpoint_free(&ep);
	text[5 + TW_UNIX_PATH_MAX] = 'a'; /* 108 */
	text[5 + TW_UNIX_PATH_MAX + 1] = '\0';
	assert_int_equal(tw_endpoint_parse(text, &ep, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "longer than 107 bytes"));
}

static void test_dns_name_limits(void **state)
{
	char text[300], err[160];
	struct tw_endpoint ep;

	(void)state;
	/* four labels of 62 plus a label of 1: exactly 253 bytes */
	snprintf(text, sizeof(text), "%.62s.%.62s.%.62s.%.62s.a",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(text), 253);
	assert_int_equal(tw_endpoint_parse(text, &ep, err, sizeof(err)), 0);
	tw_endpoint_free(&ep);
	strcat(text, "a");
	assert_int_equal(tw_endpoint_parse(text, &ep, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "longer than 253 bytes"));
}

/* ------------------------------------------------------------------ */
/* Port lists and names                                                */

struct ports_case {
	const char *in;
	const char *out; /* merged, or NULL for an error */
	const char *err;
};

static const struct ports_case ports_cases[] = {
	{ "443", "443", NULL },
	{ "8000-8999", "8000-8999", NULL },
	{ "443,8443", "443,8443", NULL },
	{ "80,8000-8100", "80,8000-8100", NULL },
	{ "8443,443,443", "443,8443", NULL },
	{ "1-10,5-20,21", "1-21", NULL },
	{ "65535", "65535", NULL },
	{ "", NULL, "empty port list" },
	{ "0", NULL, "port 0 is not a valid port" },
	{ "65536", NULL, "out of range" },
	{ "10-5", NULL, "reversed" },
	{ ",80", NULL, "empty port in port list" },
	{ "80,", NULL, "empty port in port list" },
	{ "-80", NULL, "invalid port list" },
	{ "80-", NULL, "empty port in port list" },
	{ "80-90-100", NULL, "invalid port list" },
	{ " 80", NULL, "invalid port list" },
};

static void test_ports(void **state)
{
	const struct ports_case *t = *state;
	struct tw_port_range *r;
	char err[160] = "", buf[128];
	size_t n;
	int ret = tw_ports_parse(t->in, &r, &n, err, sizeof(err));

	if (!t->out) {
		assert_int_equal(ret, -EINVAL);
		assert_null(r);
		if (!strstr(err, t->err))
			fail_msg("\"%s\": got \"%s\"", t->in, err);
		return;
	}
	assert_int_equal(ret, 0);
	ports_str(r, n, buf, sizeof(buf));
	assert_string_equal(buf, t->out);
	free(r);
}

/* Names of workspaces, channels and persons: chat forms too (SPEC). */
static void test_cnames(void)
{
	static const char *const good[] = {
		"acme", "C024BE91L", "alice@acme.example", "a@", "Data-Team",
		"U_1.x", "cgroupx", "memory", "io-team", "cpu", "pids_team",
		"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
		"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL",
	};
	static const struct {
		const char *name, *why;
	} bad[] = {
		{ "", "names match" }, { "-a", "names match" },
		{ "@alice", "names match" },
		{ ".a", "names match" }, { "..", "names match" },
		{ "_a", "names match" }, { "a b", "names match" },
		{ "a/b", "names match" }, { "#general", "names match" },
		{ "é", "names match" }, { "a:b", "names match" },
		{ "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"
		  "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL",
		  "names match" },
		{ "cgroup.procs", "the kernel gives its own files" },
		{ "cgroup.x", "the kernel gives its own files" },
		{ "memory.max", "the kernel gives its own files" },
		{ "io.stat", "the kernel gives its own files" },
		{ "perf_event.x", "the kernel gives its own files" },
	};
	const char *why;

	assert_int_equal(strlen(good[11]), TW_CNAME_MAX);
	assert_int_equal(strlen(bad[11].name), TW_CNAME_MAX + 1);
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(good); i++)
		if (!tw_cname_valid(good[i], &why))
			fail_msg("\"%s\" should be a valid name: %s", good[i],
				 why);
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(bad); i++) {
		why = NULL;
		if (tw_cname_valid(bad[i].name, &why) || !why ||
		    !strstr(why, bad[i].why))
			fail_msg("\"%s\" should be invalid (%s), not %s",
				 bad[i].name, bad[i].why, why ? why : "-");
	}
}

static void test_names(void **state)
{
	static const char *const good[] = {
		"acme", "a", "0", "data-team", "a.b_c-d", "x9",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const bad[] = {
		"", "-a", ".a", "_a", "A", "data team", "a/b", "é",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	size_t i;

	(void)state;
	assert_int_equal(strlen(good[6]), TW_NAME_MAX);
	test_cnames();
	for (i = 0; i < UNIT_ARRAY_SIZE(good); i++)
		if (!tw_name_valid(good[i]))
			fail_msg("\"%s\" should be a valid name", good[i]);
	for (i = 0; i < UNIT_ARRAY_SIZE(bad); i++)
		if (tw_name_valid(bad[i]))
			fail_msg("\"%s\" should be an invalid name", bad[i]);
	assert_false(tw_name_valid(NULL));
}

/* ------------------------------------------------------------------ */
/* Malformed snippets: exact location, message substring, exact count  */

struct snippet {
	const char *name;
	const char *text;
	bool link;
	const char *expect[6]; /* NULL-terminated */
};

static const struct snippet snippets[] = {
	{ "unknown key in bundle",
	  "{\"bundle\":\"b\",\"colour\":1}",
	  false, {
		"t.json:1:15: unknown key \"colour\" in bundle (allowed: "
		"bundle, description, connect, listen, credentials, repositories, "
		"skills, instructions)",
		NULL } },
	{ "unknown key in credential",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\","
	  "\"scope\":\"read\",\"file\":\"/f\",\"secret\":\"x\"}]}",
	  false, {
		"t.json:1:69: unknown key \"secret\" in credential (allowed: "
		"name, scope, owner, env, file, services, header, deliver)",
		NULL } },
	{ "unknown key in agent",
	  "{\"workspace\":\"w\",\"agent\":{\"name\":\"a\","
	  "\"user\":\"u\",\"uid\":1}}",
	  false, {
		"t.json:1:49: unknown key \"uid\" in agent (allowed: name, "
		"user)",
		NULL } },
	{ "description not a string",
	  "{\"bundle\":\"b\",\"description\":5}",
	  false, {
		"t.json:1:29: \"description\" must be a string, not a number",
		NULL } },
	{ "connect not an array",
	  "{\"bundle\":\"b\",\"connect\":\"x.example:443\"}",
	  false, {
		"t.json:1:25: \"connect\" must be an array of endpoint "
		"strings, not a string",
		NULL } },
	{ "connect entry not a string",
	  "{\"bundle\":\"b\",\"connect\":[443]}",
	  false, {
		"t.json:1:26: entries of \"connect\" must be strings, not a "
		"number",
		NULL } },
	{ "listen not an array",
	  "{\"bundle\":\"b\",\"listen\":\"127.0.0.1:80\"}",
	  false, {
		"t.json:1:24: \"listen\" must be an array of address "
		"strings, not a string",
		NULL } },
	{ "listen entries: names, no ports, unix",
	  "{\"bundle\":\"b\",\"listen\":[\"a.example:80\",\"10.0.0.1\","
	  "\"unix:/x\"]}",
	  false, {
		"t.json:1:25: listen entry \"a.example:80\": listen entries "
		"take an IP address or CIDR",
		"t.json:1:40: listen entry \"10.0.0.1\": listen entries need "
		"ports",
		"t.json:1:51: listen entry \"unix:/x\": listen entries are inet",
		NULL } },
	{ "listen entries: port 0, bad address, not a string",
	  "{\"bundle\":\"b\",\"listen\":[\"[::]:0\",\"10.0.0.300:80\",5,"
	  "\"udp://[::1]:53\",\"0.0.0.0/0:8080\"]}",
	  false, {
		"t.json:1:25: listen entry \"[::]:0\": port 0 is not a valid port",
		"t.json:1:34: listen entry \"10.0.0.300:80\": invalid IPv4",
		"t.json:1:50: entries of \"listen\" must be strings, not a number",
		NULL } },
	{ "agent not an object",
	  "{\"workspace\":\"w\",\"agent\":\"claude\"}",
	  false, {
		"t.json:1:26: \"agent\" must be an object, not a string",
		NULL } },
	{ "bad bundle name",
	  "{\"bundle\":\"Bad_Name\"}",
	  false, {
		"t.json:1:11: invalid bundle name \"Bad_Name\"",
		NULL } },
	{ "bundle name too long",
	  "{\"bundle\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaa\"}",
	  false, {
		"t.json:1:11: invalid bundle name",
		NULL } },
	{ "bad credential name",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\".c\","
	  "\"scope\":\"read\",\"file\":\"/f\"}]}",
	  false, {
		"t.json:1:38: invalid credential name \".c\"",
		NULL } },
	{ "host bits set",
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.1/8:443\"]}",
	  false, {
		"t.json:1:26: host bits set in 10.0.0.1/8, did you mean "
		"10.0.0.0/8?",
		NULL } },
	{ "ipv6 host bits set",
	  "{\"bundle\":\"b\",\"connect\":[\"[2001:db8::1/32]:443\"]}",
	  false, {
		"t.json:1:26: host bits set in 2001:db8::1/32, did you mean "
		"2001:db8::/32?",
		NULL } },
	{ "port 0",
	  "{\"bundle\":\"b\",\n \"connect\":[\"a.example:0\"]}",
	  false, {
		"t.json:2:13: port 0 is not a valid port",
		NULL } },
	{ "port range reversed",
	  "{\"bundle\":\"b\",\"connect\":[\"a.example:9000-8000\"]}",
	  false, {
		"t.json:1:26: port range 9000-8000 is reversed",
		NULL } },
	{ "port out of range",
	  "{\"bundle\":\"b\",\"connect\":[\"a.example:65536\"]}",
	  false, {
		"t.json:1:26: port 65536 is out of range (1-65535)",
		NULL } },
	{ "empty port list",
	  "{\"bundle\":\"b\",\"connect\":[\"a.example:\"]}",
	  false, {
		"t.json:1:26: empty port list",
		NULL } },
	{ "empty port in list",
	  "{\"bundle\":\"b\",\"connect\":[\"a.example:80,,90\"]}",
	  false, {
		"t.json:1:26: empty port in port list",
		NULL } },
	{ "unknown protocol",
	  "{\"bundle\":\"b\",\"connect\":[\"http://a.example\"]}",
	  false, {
		"t.json:1:26: unknown protocol (use tcp://, udp:// or "
		"unix:PATH)",
		NULL } },
	{ "relative unix path",
	  "{\"bundle\":\"b\",\"connect\":[\"unix:run/x.sock\"]}",
	  false, {
		"t.json:1:26: unix socket path must be an absolute path",
		NULL } },
	{ "unix path too long",
	  "{\"bundle\":\"b\",\"connect\":[\"unix:/aaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaa\"]}",
	  false, {
		"t.json:1:26: unix socket path is longer than 107 bytes",
		NULL } },
	{ "unix path with ports",
	  "{\"bundle\":\"b\",\"connect\":[\"unix:/run/x.sock\", "
	  "\"unix:/run/../x\"]}",
	  false, {
		"t.json:1:46: must not contain \".\" or \"..\" components",
		NULL } },
	{ "bare wildcard",
	  "{\"bundle\":\"b\",\"connect\":[\"*:443\",\"*.:443\"]}",
	  false, {
		"t.json:1:26: a bare wildcard matches every name",
		"t.json:1:34: a bare wildcard matches every name",
		NULL } },
	{ "wildcard not leading",
	  "{\"bundle\":\"b\",\"connect\":[\"api.*.example:443\"]}",
	  false, {
		"t.json:1:26: '*' is only allowed as a leading \"*.\" label",
		NULL } },
	{ "ipv6 without brackets",
	  "{\"bundle\":\"b\",\"connect\":[\"2001:db8::1:443\"]}",
	  false, {
		"t.json:1:26: IPv6 addresses go in brackets",
		NULL } },
	{ "dns label too long",
	  "{\"bundle\":\"b\",\"connect\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example:443\"]}",
	  false, {
		"t.json:1:26: DNS label longer than 63 bytes",
		NULL } },
	{ "dns name too long",
	  "{\"bundle\":\"b\",\"connect\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example:443\"]}",
	  false, {
		"t.json:1:26: DNS name is longer than 253 bytes",
		NULL } },
	{ "dns label starts with dash",
	  "{\"bundle\":\"b\",\"connect\":[\"-a.example\"]}",
	  false, {
		"t.json:1:26: DNS labels must not start or end with '-'",
		NULL } },
	{ "dns underscore",
	  "{\"bundle\":\"b\",\"connect\":[\"a_b.example\"]}",
	  false, {
		"t.json:1:26: invalid character in DNS name",
		NULL } },
	{ "bad ipv4",
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.256:80\","
	  "\"10.1/8\"]}",
	  false, {
		"t.json:1:26: invalid IPv4 address",
		"t.json:1:42: invalid IPv4 address",
		NULL } },
	{ "bad prefix length",
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.0/33\"]}",
	  false, {
		"t.json:1:26: invalid prefix length (0-32)",
		NULL } },
	{ "credential without scope",
	  "{\"bundle\":\"b\",\"credentials\":[\n  {\"name\":\"c\","
	  "\"file\":\"/f\"}]}",
	  false, {
		"t.json:2:3: credential \"c\" has no \"scope\"",
		NULL } },
	{ "agent credential without file",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\","
	  "\"scope\":\"read\",\"env\":\"TOKEN\"}]}",
	  false, {
		"t.json:1:30: agent-owned credential \"c\" needs \"file\"",
		NULL } },
	{ "person credential with file",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\","
	  "\"scope\":\"read\",\"owner\":\"person\",\"file\":\"/f\"}]}",
	  false, {
		"t.json:1:74: person-owned credential \"c\" must not have "
		"\"file\"",
		NULL } },
	{ "bad env name",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\","
	  "\"scope\":\"write\",\"env\":\"1TOKEN\",\"file\":\"/f\"}]}",
	  false, {
		"t.json:1:64: \"env\" is not a valid environment variable "
		"name: \"1TOKEN\"",
		NULL } },
	{ "bad scope and owner",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\","
	  "\"scope\":\"admin\",\"owner\":\"team\",\"file\":\"/f\"}]}",
	  false, {
		"t.json:1:50: \"scope\" must be \"read\" or \"write\", not "
		"\"admin\"",
		"t.json:1:66: \"owner\" must be \"agent\" or \"person\", not "
		"\"team\"",
		NULL } },
	{ "repository dot-dot",
	  "{\"bundle\":\"b\",\"repositories\":[{\"path\":\"/srv/../etc"
	  "\",\"access\":\"read\"}]}",
	  false, {
		"t.json:1:39: \"path\" must not contain \".\" or \"..\" "
		"components: \"/srv/../etc\"",
		NULL } },
	{ "repository incomplete",
	  "{\"bundle\":\"b\",\"repositories\":[{\"path\":\"srv/git\"}]}",
	  false, {
		"t.json:1:39: \"path\" must be an absolute path: \"srv/git\"",
		"t.json:1:31: repository has no \"access\"",
		NULL } },
	{ "skill not absolute",
	  "{\"bundle\":\"b\",\"skills\":[\"/usr/bin/git\",\"git\"]}",
	  false, {
		"t.json:1:40: \"skills\" entry must be an absolute path: "
		"\"git\"",
		NULL } },
	{ "workspace without agent",
	  "{\"workspace\":\"acme\"}",
	  false, {
		"t.json:1:14: workspace acme has no agent name (agent.name)",
		"t.json:1:14: workspace acme has no agent account "
		"(agent.user)",
		NULL } },
	{ "workspace without agent user",
	  "{\"workspace\":\"acme\",\n \"agent\":{\"name\":\"claude\"}}",
	  false, {
		"t.json:2:10: workspace acme has no agent account "
		"(agent.user)",
		NULL } },
	{ "bad agent user",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"Agent Smith\"}}",
	  false, {
		"t.json:1:53: \"user\" is not a valid Unix user name: "
		"\"Agent Smith\"",
		NULL } },
	{ "bad mode",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"mode\":\"strict\"}",
	  false, {
		"t.json:1:60: \"mode\" must be \"enforce\" or \"audit\", not "
		"\"strict\"",
		NULL } },
	{ "bad background",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"background\":\"yes\"}",
	  false, {
		"t.json:1:66: \"background\" must be true or false, not a "
		"string",
		NULL } },
	{ "bad dns upstream",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"dns\":{\"upstream\":[\"192.0.2.53\","
	  "\"[::1]:53\",\"192.0.2.53:0\"]}}",
	  false, {
		"t.json:1:72: invalid DNS upstream \"192.0.2.53\"",
		"t.json:1:96: invalid DNS upstream \"192.0.2.53:0\"",
		NULL } },
	{ "dns without upstream",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"dns\":{}}",
	  false, {
		"t.json:1:59: \"dns\" needs \"upstream\"",
		NULL } },
	{ "bad system path",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"system_paths\":[\"/usr/bin\",\"bin\"]}",
	  false, {
		"t.json:1:80: \"system_paths\" entry must be an absolute "
		"path: \"bin\"",
		NULL } },
	{ "bad run_as and credentials_dir",
	  "{\"dm\":\"alice\",\"workspace\":\"acme\","
	  "\"run_as\":\"Alice\",\"credentials_dir\":\"creds\"}",
	  false, {
		"t.json:1:43: \"run_as\" is not a valid Unix user name",
		"t.json:1:69: \"credentials_dir\" must be an absolute path: "
		"\"creds\"",
		NULL } },
	{ "channel without workspace",
	  "{\"channel\":\"data\"}",
	  false, {
		"t.json:1:12: channel data has no \"workspace\"",
		NULL } },
	{ "dm without workspace",
	  "{\"dm\":\"alice\",\"personal\":[]}",
	  false, {
		"t.json:1:7: dm alice has no \"workspace\"",
		NULL } },
	{ "step_up not an array",
	  "{\"channel\":\"data\",\"workspace\":\"acme\","
	  "\"step_up\":\"x\"}",
	  false, {
		"t.json:1:48: \"step_up\" must be an array of bundle names, "
		"not a string",
		NULL } },
	{ "step_up entry not a string",
	  "{\"channel\":\"data\",\"workspace\":\"acme\","
	  "\"step_up\":[1]}",
	  false, {
		"t.json:1:49: entries of \"step_up\" must be bundle names "
		"(strings), not a number",
		NULL } },
	{ "object without kind",
	  "{\"name\":\"x\"}",
	  false, {
		"t.json:1:1: object has none of the keys \"workspace\", "
		"\"bundle\", \"channel\", \"dm\"",
		NULL } },
	{ "object with two kinds",
	  "{\"bundle\":\"x\",\"channel\":\"y\"}",
	  false, {
		"t.json:1:15: object has both \"bundle\" and \"channel\"",
		NULL } },
	{ "bundle with workspace key",
	  "{\"bundle\":\"x\",\"workspace\":\"acme\"}",
	  false, {
		"t.json:1:15: unknown key \"workspace\" in bundle",
		NULL } },
	{ "array element not an object",
	  "[{\"bundle\":\"a\"},\n 7]",
	  false, {
		"t.json:2:2: expected a policy object (workspace, bundle, "
		"channel or dm), not a number",
		NULL } },
	{ "json syntax error",
	  "{\"bundle\":\"a\"}\n{\"bundle\": x}",
	  false, {
		"t.json:2:12: invalid JSON: invalid token near 'x'",
		NULL } },
	{ "json unterminated",
	  "{\"bundle\":\"a\",\n \"connect\":[\"x\"",
	  false, {
		"t.json:2:15: invalid JSON: ']' expected near end of file",
		NULL } },
	{ "json scalar at top level",
	  "{\"bundle\":\"a\"} 5",
	  false, {
		"t.json:1:16: invalid JSON: '[' or '{' expected near '5'",
		NULL } },
	{ "duplicate key",
	  "{\"bundle\":\"a\",\n \"bundle\":\"b\"}",
	  false, {
		"t.json:2:2: duplicate key \"bundle\" (first at line 1, "
		"column 2)",
		NULL } },
	{ "duplicate nested key",
	  "{\"bundle\":\"a\",\"credentials\":[{\"name\":\"c\","
	  "\n\t\"name\":\"d\"}]}",
	  false, {
		"t.json:2:2: duplicate key \"name\" (first at line 1, column "
		"31)",
		NULL } },
	{ "empty file",
	  " \n ",
	  false, {
		"t.json:1:1: empty policy file",
		NULL } },
	{ "error after utf-8",
	  "{\"bundle\":\"a\",\"description\":\"\xc3\xa9"
	  "t\xc3\xa9"
	  "\",\"x\":1}",
	  false, {
		"t.json:1:37: unknown key \"x\" in bundle",
		NULL } },
	{ "objects one after another",
	  "{\"bundle\":\"a\"}\n\n  {\"bundle\":\"b\",\"x\":1}",
	  false, {
		"t.json:3:17: unknown key \"x\" in bundle",
		NULL } },
	{ "no workspace",
	  "{\"bundle\":\"b\"}",
	  true, {
		"t.json:1:1: the policy defines no workspace",
		NULL } },
	{ "unknown bundle in baseline",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"baseline\":[\"docs\"]}",
	  true, {
		"t.json:1:65: unknown bundle \"docs\" in \"baseline\"",
		NULL } },
	{ "unknown workspace",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"channel\":\"data\","
	  "\"workspace\":\"acmee\"}\n{\"dm\":\"bob\","
	  "\"workspace\":\"acmee\"}",
	  true, {
		"t.json:2:31: unknown workspace \"acmee\"",
		"t.json:3:25: unknown workspace \"acmee\"",
		NULL } },
	{ "duplicate bundle",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"bundle\":\"b\"}\n{\"bundle\":\"b\"}",
	  true, {
		"t.json:3:11: duplicate bundle b (first defined at "
		"t.json:2:11)",
		NULL } },
	{ "duplicate workspace",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"workspace\":\"acme\","
	  "\"agent\":{\"name\":\"claude\",\"user\":\"agent\"}}\n",
	  true, {
		"t.json:2:14: duplicate workspace acme (first defined at "
		"t.json:1:14)",
		NULL } },
	{ "duplicate channel",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"channel\":\"c\","
	  "\"workspace\":\"acme\"}\n{\"channel\":\"c\","
	  "\"workspace\":\"acme\"}",
	  true, {
		"t.json:3:12: duplicate channel c in workspace acme (first "
		"defined at t.json:2:12)",
		NULL } },
	{ "same channel in two workspaces",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"workspace\":\"beta\","
	  "\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"}}\n{\"channel\":\"c\","
	  "\"workspace\":\"acme\"}\n{\"channel\":\"c\","
	  "\"workspace\":\"beta\"}\n{\"dm\":\"c\","
	  "\"workspace\":\"beta\"}",
	  true, {
		NULL } },
	{ "duplicate dm",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"dm\":\"alice\","
	  "\"workspace\":\"acme\"}\n{\"dm\":\"alice\","
	  "\"workspace\":\"acme\"}",
	  true, {
		"t.json:3:7: duplicate dm alice in workspace acme (first "
		"defined at t.json:2:7)",
		NULL } },
	{ "bundle listed twice",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"bundle\":\"b\"}\n{\"channel\":\"c\""
	  ",\"workspace\":\"acme\",\"step_up\":[\"b\",\"b\"]}",
	  true, {
		"t.json:3:50: bundle b is listed twice in \"step_up\" (first "
		"at line 3, column 46)",
		NULL } },
	{ "personal bundle in baseline",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\","
	  "\"user\":\"u\"},\"baseline\":[\"p\"]}\n{\"bundle\":\"p\","
	  "\"credentials\":[{\"name\":\"t\",\"scope\":\"read\","
	  "\"owner\":\"person\"}]}",
	  true, {
		"t.json:1:65: bundle p is personal (it has a person-owned "
		"credential): it can only be granted in a DM's \"personal\" "
		"list, not in \"baseline\"",
		NULL } },
	{ "personal bundle in step_up",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"bundle\":\"p\","
	  "\"credentials\":[{\"name\":\"t\",\"scope\":\"read\","
	  "\"owner\":\"person\"}]}\n{\"channel\":\"c\","
	  "\"workspace\":\"acme\",\"step_up\":[\"p\"]}",
	  true, {
		"t.json:3:46: bundle p is personal",
		NULL } },
	{ "personal bundle in a dm",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"bundle\":\"p\","
	  "\"credentials\":[{\"name\":\"t\",\"scope\":\"read\","
	  "\"owner\":\"person\"}]}\n{\"bundle\":\"q\"}\n{\"dm\":\"alice"
	  "\",\"workspace\":\"acme\",\"personal\":[\"p\",\"q\"],"
	  "\"credentials_dir\":\"/home/alice/creds\"}",
	  true, {
		NULL } },
	{ "dm without credentials_dir",
	  "{\"workspace\":\"acme\",\"agent\":{\"name\":\"claude\","
	  "\"user\":\"agent\"}}\n{\"bundle\":\"p\","
	  "\"credentials\":[{\"name\":\"t\",\"scope\":\"read\","
	  "\"owner\":\"person\"}]}\n{\"dm\":\"alice\","
	  "\"workspace\":\"acme\",\"personal\":[\"p\"]}",
	  true, {
		"t.json:3:7: dm alice needs \"credentials_dir\": personal "
		"bundle p has person-owned credentials",
		NULL } },
	{ "brokered credential: bad service, header, deliver",
	  "{\"bundle\":\"b\",\"connect\":[\"api.x.example:443\"],"
	  "\"credentials\":[{\"name\":\"c\",\"scope\":\"read\",\"file\":\"/f\","
	  "\"services\":[\"ftp://api.x.example\",\"https://api.x.example/v1\","
	  "\"https://api.x.example:0\"],"
	  "\"header\":\"Authorization Bearer\",\"deliver\":\"mail\"}]}",
	  false, {
		"t.json:1:113: invalid service \"ftp://api.x.example\": must start with https:// or http:// (use https://HOST[:PORT] or http://HOST[:PORT])",
		"t.json:1:135: invalid service \"https://api.x.example/v1\": an origin has no path, query or user (https://HOST[:PORT]) (use https://HOST[:PORT] or http://HOST[:PORT])",
		"t.json:1:162: invalid service \"https://api.x.example:0\": the port must be 1-65535 (use https://HOST[:PORT] or http://HOST[:PORT])",
		"t.json:1:198: \"header\" must be \"Name: text {} text\" with exactly one {} standing for the value (e.g. \"Authorization: Bearer {}\"), not \"Authorization Bearer\"",
		"t.json:1:231: \"deliver\" must be \"broker\" or \"plain\", not \"mail\"",
		NULL } },
	{ "brokered credential: header and deliver",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\",\"scope\":\"read\","
	  "\"file\":\"/f\",\"header\":\"X: {} {}\",\"deliver\":\"broker\"}]}",
	  false, {
		"t.json:1:69: credential \"c\" has \"header\" but no \"services\": the header is injected only at its services",
		"t.json:1:78: \"header\" must be \"Name: text {} text\" with exactly one {} standing for the value (e.g. \"Authorization: Bearer {}\"), not \"X: {} {}\"",
		"t.json:1:99: credential \"c\": \"deliver\": \"broker\" needs \"services\" (where the broker injects it)",
		NULL } },
	{ "brokered credential: header without services",
	  "{\"bundle\":\"b\",\"credentials\":[{\"name\":\"c\",\"scope\":\"read\","
	  "\"file\":\"/f\",\"header\":\"X-Key: {}\"}]}",
	  false, {
		"t.json:1:69: credential \"c\" has \"header\" but no \"services\": the header is injected only at its services",
		NULL } },
	{ "brokered service outside the bundle's connect entries",
	  "{\"bundle\":\"b\",\"connect\":[\"api.x.example:443\",\"10.0.0.0/8:8080\","
	  "\"*.cdn.example:443\"],"
	  "\"credentials\":[{\"name\":\"c\",\"scope\":\"write\",\"file\":\"/f\","
	  "\"services\":[\"https://api.x.example\",\"http://api.x.example\","
	  "\"http://10.1.2.3:8080\",\"https://10.1.2.3\",\"https://a.cdn.example\","
	  "\"https://cdn.example\",\"https://[2001:db8::1]\"]}]}",
	  false, {
		"t.json:1:176: service \"http://api.x.example\" of credential \"c\" is not reachable under any \"connect\" entry of bundle b (add \"api.x.example:80\")",
		"t.json:1:222: service \"https://10.1.2.3\" of credential \"c\" is not reachable under any \"connect\" entry of bundle b (add \"10.1.2.3:443\")",
		"t.json:1:265: service \"https://cdn.example\" of credential \"c\" is not reachable under any \"connect\" entry of bundle b (add \"cdn.example:443\")",
		"t.json:1:287: service \"https://[2001:db8::1]\" of credential \"c\" is not reachable under any \"connect\" entry of bundle b (add \"[2001:db8::1]:443\")",
		NULL } },
	{ "broker.upstream_ca is a path",
	  "{\"workspace\":\"w\",\"agent\":{\"name\":\"a\",\"user\":\"u\"},"
	  "\"broker\":{\"upstream_ca\":\"ca.pem\",\"port\":1}}",
	  false, {
		"t.json:1:74: \"upstream_ca\" must be an absolute path: \"ca.pem\"",
		"t.json:1:83: unknown key \"port\" in broker (allowed: upstream_ca)",
		NULL } },
};

static void test_snippet(void **state)
{
	const struct snippet *t = *state;
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	int ret = unit_parse(t->text, t->link, &pol, &d);

	tw_diags_sort(&d);
	if (!unit_diags_exactly(&d, t->expect))
		fail_msg("%s", t->name);
	assert_int_equal(ret, t->expect[0] ? -EINVAL : 0);
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* ------------------------------------------------------------------ */
/* Valid policies and what they parse to                               */

/* The SPEC's example: objects one after another, no array around them. */
static const char spec_example[] =
	"{ \"workspace\": \"acme\",\n"
	"  \"agent\": { \"name\": \"claude\", \"user\": \"toolwall-agent\" },\n"
	"  \"baseline\": [\"docs-search\", \"issue-tracker\"],\n"
	"  \"mode\": \"enforce\",\n"
	"  \"dns\": { \"upstream\": [\"192.0.2.53:53\", "
	"\"[2001:db8::53]:53\"] },\n"
	"  \"system_paths\": [\"/usr/bin/\", \"/opt//tools\"] }\n"
	"\n"
	"{ \"bundle\": \"issue-tracker\",\n"
	"  \"description\": \"Read and write tickets in the team tracker\",\n"
	"  \"connect\": [\"api.tracker.example:443\", \"10.20.0.0/16:5432\", "
	"\"[2001:db8::/48]:443\", \"*.tracker-cdn.example:443\", "
	"\"udp://198.51.100.7:123\", \"unix:/run/tracker.sock\"],\n"
	"  \"credentials\": [ { \"name\": \"tracker-agent\", "
	"\"scope\": \"write\", "
	"\"env\": \"TRACKER_TOKEN\", \"file\": "
	"\"/etc/toolwall/credentials/tracker-agent\" } ],\n"
	"  \"repositories\": [ { \"path\": \"/srv/git/ops/\", \"access\": "
	"\"read\" } ],\n"
	"  \"skills\": [\"/usr/bin/git\", \"/opt/skills/tracker-cli\"],\n"
	"  \"instructions\": \"File tickets only in project OPS.\" }\n"
	"{ \"bundle\": \"docs-search\" }\n"
	"{ \"bundle\": \"warehouse-read\" }\n"
	"{ \"bundle\": \"recruiting\", \"credentials\": [ { \"name\": "
	"\"ats-token\", \"scope\": \"read\", \"owner\": \"person\", \"env\": "
	"\"ATS_TOKEN\" } ] }\n"
	"{ \"channel\": \"data-team\", \"workspace\": \"acme\", \"step_up\": "
	"[\"warehouse-read\"], \"mode\": \"audit\" }\n"
	"{ \"dm\": \"alice\", \"workspace\": \"acme\", \"personal\": "
	"[\"recruiting\"],\n"
	"  \"credentials_dir\": \"/home/alice/.config/toolwall/credentials\", "
	"\"run_as\": \"alice\" }\n";

static void check_spec_workspace(const struct tw_policy *pol)
{
	const struct tw_workspace *w = &pol->workspaces[0];

	assert_string_equal(w->name, "acme");
	assert_int_equal(w->loc.line, 1);
	assert_int_equal(w->loc.col, 16);
	assert_string_equal(w->agent_name, "claude");
	assert_string_equal(w->agent_user, "toolwall-agent");
	assert_int_equal(w->mode, TW_MODE_ENFORCE);
	assert_int_equal(w->nbaseline, 2);
	assert_string_equal(w->baseline[0].name, "docs-search");
	assert_string_equal(pol->bundles[w->baseline[0].bundle].name,
			    "docs-search");
	assert_string_equal(pol->bundles[w->baseline[1].bundle].name,
			    "issue-tracker");
	assert_int_equal(w->baseline[1].loc.line, 3);
	assert_int_equal(w->baseline[1].loc.col, 31);
	assert_int_equal(w->ndns_upstream, 2);
	assert_string_equal(w->dns_upstream[1], "[2001:db8::53]:53");
	assert_int_equal(w->nsystem_paths, 2);
	assert_string_equal(w->system_paths[0], "/usr/bin");
	assert_string_equal(w->system_paths[1], "/opt/tools");
	assert_null(w->credentials_dir);
}

static void check_spec_bundle(const struct tw_policy *pol)
{
	const struct tw_bundle *b = &pol->bundles[0];

	assert_string_equal(b->name, "issue-tracker");
	assert_int_equal(b->loc.line, 8);
	assert_string_equal(b->description,
			    "Read and write tickets in the team tracker");
	assert_int_equal(b->nconnect, 6);
	assert_int_equal(b->connect[0].kind, TW_HOST_NAME);
	assert_int_equal(b->connect[1].loc.line, 10);
	assert_int_equal(b->connect[1].loc.col, 42);
	assert_int_equal(b->connect[2].family, 6);
	assert_int_equal(b->connect[3].kind, TW_HOST_WILDCARD);
	assert_int_equal(b->connect[4].proto, TW_PROTO_UDP);
	assert_int_equal(b->connect[5].kind, TW_HOST_UNIX);
	assert_int_equal(b->ncreds, 1);
	assert_string_equal(b->creds[0].name, "tracker-agent");
	assert_int_equal(b->creds[0].scope, TW_SCOPE_WRITE);
	assert_int_equal(b->creds[0].owner, TW_OWNER_AGENT);
	assert_string_equal(b->creds[0].env, "TRACKER_TOKEN");
	assert_string_equal(b->creds[0].file,
			    "/etc/toolwall/credentials/tracker-agent");
	assert_int_equal(b->nrepos, 1);
	assert_string_equal(b->repos[0].path, "/srv/git/ops");
	assert_int_equal(b->repos[0].access, TW_ACCESS_READ);
	assert_int_equal(b->nskills, 2);
	assert_string_equal(b->skills[1], "/opt/skills/tracker-cli");
	assert_int_equal(b->skill_locs[1].line, 13);
	assert_string_equal(b->instructions,
			    "File tickets only in project OPS.");
	assert_false(b->personal);
	assert_true(pol->bundles[3].personal);
	assert_int_equal(pol->bundles[3].creds[0].owner, TW_OWNER_PERSON);
	assert_null(pol->bundles[3].creds[0].file);
}

static void check_spec_contexts(const struct tw_policy *pol)
{
	const struct tw_channel *ch = &pol->channels[0];
	const struct tw_dm *dm = &pol->dms[0];

	assert_string_equal(ch->name, "data-team");
	assert_int_equal(ch->workspace, 0);
	assert_int_equal(ch->mode, TW_MODE_AUDIT);
	assert_int_equal(ch->nstep_up, 1);
	assert_string_equal(pol->bundles[ch->step_up[0].bundle].name,
			    "warehouse-read");
	assert_int_equal(ch->workspace_loc.line, 18);
	assert_string_equal(dm->name, "alice");
	assert_int_equal(dm->workspace, 0);
	assert_int_equal(dm->mode, TW_MODE_UNSET);
	assert_string_equal(pol->bundles[dm->personal[0].bundle].name,
			    "recruiting");
	assert_string_equal(dm->credentials_dir,
			    "/home/alice/.config/toolwall/credentials");
	assert_string_equal(dm->run_as, "alice");
}

static void test_spec_example(void **state)
{
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	static const char *const none[] = { NULL };

	(void)state;
	assert_int_equal(unit_parse(spec_example, true, &pol, &d), 0);
	assert_true(unit_diags_exactly(&d, none));
	assert_int_equal(pol.nworkspaces, 1);
	assert_int_equal(pol.nbundles, 4);
	assert_int_equal(pol.nchannels, 1);
	assert_int_equal(pol.ndms, 1);
	assert_int_equal(pol.nfiles, 1);
	assert_string_equal(pol.workspaces[0].loc.file, "t.json");
	check_spec_workspace(&pol);
	check_spec_bundle(&pol);
	check_spec_contexts(&pol);
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* One file holding a top-level array, another adding to the same policy. */
static void test_array_and_files(void **state)
{
	static const char a[] =
		"[ {\"workspace\":\"w\",\"agent\":{\"name\":\"a\","
		"\"user\":\"u\"},"
		"\"baseline\":[\"b\"]},\n  {\"channel\":\"c\",\"workspace\":"
		"\"w\",\"step_up\":[]} ]";
	static const char b[] = "{\"bundle\":\"b\"}";
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };

	(void)state;
	assert_int_equal(tw_policy_parse(&pol, "a.json", a, strlen(a), &d), 0);
	assert_int_equal(tw_policy_parse(&pol, "b.json", b, strlen(b), &d), 0);
	assert_int_equal(tw_policy_link(&pol, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(pol.nfiles, 2);
	assert_int_equal(pol.workspaces[0].baseline[0].bundle, 0);
	assert_string_equal(pol.bundles[0].loc.file, "b.json");
	assert_int_equal(pol.channels[0].loc.line, 2);
	assert_int_equal(pol.channels[0].loc.col, 14);
	assert_int_equal(pol.channels[0].nstep_up, 0);
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* Diagnostics outlive the policy, and sort by file, line, column. */
static void test_diags(void **state)
{
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	struct tw_loc l1 = { "b.json", 2, 1 }, l2 = { "a.json", 9, 9 };

	(void)state;
	assert_int_equal(unit_parse("{\"bundle\":\"B\"}", false, &pol, &d),
			 -EINVAL);
	tw_policy_free(&pol);
	tw_diags_add(&d, l1, "second %d", 2);
	tw_diags_add(&d, l1, "third");
	tw_diags_add(&d, l2, "first");
	tw_diags_sort(&d);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].msg, "first");
	assert_string_equal(d.v[1].msg, "second 2");
	assert_string_equal(d.v[2].msg, "third");
	assert_string_equal(d.v[3].loc.file, "t.json");
	assert_true(unit_diag_matches(&d.v[3], "t.json:1:11: invalid bundle"));
	tw_diags_free(&d);
	assert_int_equal(d.n, 0);
}

/*
 * A JSON syntax error comes first, before problems in files sorted ahead
 * of it: they may stem from it (here the bundle it kept from being read
 * is "unknown" in a.json). A duplicate key stops jansson the same way.
 */
static void test_syntax_error_first(void **state)
{
	static const char a[] =
		"{\"workspace\":\"w\",\"agent\":{\"name\":\"a\","
		"\"user\":\"u\"},\"baseline\":[\"b\"]}";
	static const char b[] = "{\"bundle\":\"b\",,}";
	static const char c[] = "{\"bundle\":\"c\",\"bundle\":\"d\"}";
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };

	(void)state;
	assert_int_equal(tw_policy_parse(&pol, "a.json", a, strlen(a), &d), 0);
	assert_int_equal(tw_policy_parse(&pol, "b.json", b, strlen(b), &d),
			 -EINVAL);
	assert_int_equal(tw_policy_parse(&pol, "c.json", c, strlen(c), &d),
			 -EINVAL);
	assert_int_equal(tw_policy_link(&pol, &d), -EINVAL);
	tw_diags_sort(&d);
	assert_int_equal(d.n, 3);
	assert_true(d.v[0].syntax);
	assert_true(unit_diag_matches(&d.v[0], "b.json:1:15: invalid JSON"));
	assert_true(d.v[1].syntax);
	assert_true(unit_diag_matches(&d.v[1], "c.json:1:15: duplicate key"));
	assert_false(d.v[2].syntax);
	assert_true(unit_diag_matches(&d.v[2], "a.json:1:62: unknown bundle"));
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* jansson skips some NUL bytes, which would shift every location after. */
static void test_nul_byte(void **state)
{
	static const char text[] = "{\"bundle\":\"a\"}\n [5\0]";
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	static const char *const want[] = {
		"t.json:2:4: NUL byte in policy file", NULL
	};

	(void)state;
	assert_int_equal(tw_policy_parse(&pol, "t.json", text,
					 sizeof(text) - 1, &d), -EINVAL);
	assert_true(unit_diags_exactly(&d, want));
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* ------------------------------------------------------------------ */
/* The malformed corpus: tests/malformed/NAME.json + NAME.expect        */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET)) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* The expected lines of NAME.expect, NULL-terminated, in one block. */
static const char **read_expect(const char *path, char **text)
{
	const char **lines;
	size_t len, n = 0;
	char *p, *save;

	*text = read_file(path, &len);
	if (!*text)
		return NULL;
	lines = calloc(len + 2, sizeof(*lines));
	if (!lines)
		return NULL;
	for (p = strtok_r(*text, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save))
		lines[n++] = p;
	return lines;
}

static bool corpus_case(const char *dir, const char *name)
{
	char path[4096], *text, *expect_text = NULL;
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	const char **expect;
	size_t len = 0;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = read_file(path, &len);
	snprintf(path + strlen(path) - 5, 8, ".expect");
	expect = read_expect(path, &expect_text);
	if (!text || !expect) {
		fprintf(stderr, "%s: cannot read the case or its .expect\n",
			name);
		ok = false;
	} else {
		tw_policy_parse(&pol, name, text, len, &d);
		tw_policy_link(&pol, &d);
		tw_diags_sort(&d);
		ok = unit_diags_exactly(&d, expect);
		if (!ok)
			fprintf(stderr, "%s: mismatch\n", name);
	}
	tw_policy_free(&pol);
	tw_diags_free(&d);
	free(text);
	free(expect_text);
	free(expect);
	return ok;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_malformed_corpus(void **state)
{
	const char *dir = getenv("TW_MALFORMED_DIR");
	char *names[512];
	struct dirent *de;
	size_t n = 0, i, bad = 0;
	DIR *d;

	(void)state;
	if (!dir)
		dir = "tests/malformed";
	d = opendir(dir);
	if (!d)
		fail_msg("%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) && n < UNIT_ARRAY_SIZE(names)) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		bad += !corpus_case(dir, names[i]);
		free(names[i]);
	}
	assert_true(n >= 15);
	if (bad)
		fail_msg("%zu of %zu malformed cases failed", bad, n);
}

/* ------------------------------------------------------------------ */
/* Loading from disk                                                   */

static void test_reference_policy(void **state)
{
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };
	const struct tw_workspace *w;

	(void)state;
	assert_int_equal(tw_policy_load("policy/examples/acme", &pol, &d), 0);
	unit_diags_dump(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(pol.nworkspaces, 1);
	assert_int_equal(pol.nbundles, 4);
	assert_int_equal(pol.nchannels, 2);
	assert_int_equal(pol.ndms, 1);
	/* files in byte order of their paths */
	assert_string_equal(pol.files[0],
			    "policy/examples/acme/bundles/docs-search.json");
	assert_string_equal(pol.files[pol.nfiles - 1],
			    "policy/examples/acme/workspace.json");
	w = &pol.workspaces[0];
	assert_string_equal(pol.bundles[w->baseline[0].bundle].name,
			    "docs-search");
	assert_true(pol.bundles[pol.dms[0].personal[0].bundle].personal);
	assert_int_equal(pol.channels[1].workspace, 0);
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load_dir(void **state)
{
	char dir[] = "/tmp/tw-unit-XXXXXX", sub[64], path[4096];
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(dir, "b.json", "{\"workspace\":\"w\",\"agent\":{\"name\":"
		   "\"a\",\"user\":\"u\"},\"baseline\":[\"x\"]}");
	write_file(sub, "z.json", "{\"bundle\":\"x\"}");
	write_file(dir, ".hidden.json", "not json");
	write_file(dir, "notes.txt", "not json");
	assert_int_equal(tw_policy_load(dir, &pol, &d), 0);
	unit_diags_dump(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(pol.nfiles, 2);
	snprintf(path, sizeof(path), "%s/a/z.json", dir);
	assert_string_equal(pol.files[0], path);
	tw_policy_free(&pol);

	/* a file over the cap is refused before parsing */
	snprintf(path, sizeof(path), "%s/big.json", dir);
	assert_int_equal(truncate(path, 0) == 0 || errno == ENOENT, 1);
	write_file(dir, "big.json", "");
	assert_int_equal(truncate(path, TW_POLICY_MAX_BYTES + 1), 0);
	assert_int_equal(tw_policy_load(path, &pol, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "larger than 16 MiB"));
	tw_policy_free(&pol);
	tw_diags_free(&d);

	unlink(path);
	unlink(strcat(strcpy(path, sub), "/z.json"));
	rmdir(sub);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.hidden.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	unlink(path);
	/* nothing left to load */
	assert_int_equal(tw_policy_load(dir, &pol, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "no *.json policy files"));
	tw_policy_free(&pol);
	tw_diags_free(&d);
	rmdir(dir);
}

static void test_load_missing(void **state)
{
	struct tw_policy pol = { 0 };
	struct tw_diags d = { 0 };

	(void)state;
	assert_int_equal(tw_policy_load("/nonexistent/policy", &pol, &d),
			 -EINVAL);
	assert_int_equal(d.n, 1);
	assert_true(unit_diag_matches(&d.v[0], "/nonexistent/policy:1:1: "
				      "cannot read policy: No such file or "
				      "directory"));
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* ------------------------------------------------------------------ */
/* The locator                                                         */

static void expect_at(const struct tw_lnode *root, const char *path,
		      int line, int col, int key_line, int key_col)
{
	const struct tw_lnode *n = tw_lnode_path(root, path);

	if (!n)
		fail_msg("%s: not found", path);
	if (n->line != line || n->col != col || n->key_line != key_line ||
	    n->key_col != key_col)
		fail_msg("%s: at %d:%d key %d:%d, want %d:%d key %d:%d", path,
			 n->line, n->col, n->key_line, n->key_col, line, col,
			 key_line, key_col);
}

static void test_locate(void **state)
{
	static const char text[] =
		"  {\"a\": [1, {\"b\": \"x\"}],\n"
		" \"c\\/d~\": true, \"\\u00e9\": -1.5e3,\n"
		"\t\"e\": {}}";
	struct tw_lnode *root;

	(void)state;
	assert_int_equal(tw_locate(text, strlen(text), 2, 1, 3, &root), 0);
	expect_at(root, "", 1, 3, 0, 0);
	expect_at(root, "/a", 1, 9, 1, 4);
	expect_at(root, "/a/0", 1, 10, 0, 0);
	expect_at(root, "/a/1/b", 1, 19, 1, 14);
	expect_at(root, "/c~1d~0", 2, 11, 2, 2);
	expect_at(root, "/\xc3\xa9", 2, 27, 2, 17);
	expect_at(root, "/e", 3, 7, 3, 2);
	assert_null(tw_lnode_path(root, "/a/2"));
	assert_null(tw_lnode_path(root, "/zz"));
	assert_null(tw_lnode_path(root, "/a/x"));
	assert_null(tw_lnode_member(tw_lnode_path(root, "/a"), "b", 0));
	tw_locate_free(root);
}

static void test_locate_garbage(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,", "{\"a\"", "{\"a\":}", "{\"a\" 1}", "[1 2]",
		"\"\\u12", "\"\\x\"", "}", "{\"a\":1,}", "[\"\\ud800\\u0041\"]",
	};
	char deep[TW_LOCATE_MAX_DEPTH + 10];
	struct tw_lnode *root;
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_ARRAY_SIZE(bad); i++) {
		int ret = tw_locate(bad[i], strlen(bad[i]), 0, 1, 1, &root);

		if (i == UNIT_ARRAY_SIZE(bad) - 1)
			assert_int_equal(ret, 0);
		else if (ret != -EINVAL)
			fail_msg("\"%s\": %d", bad[i], ret);
		tw_locate_free(root);
	}
	/* a partial tree keeps what came before the problem */
	assert_int_equal(tw_locate("{\"a\":1,\"b\"", 10, 0, 1, 1, &root),
			 -EINVAL);
	expect_at(root, "/b", 0, 0, 1, 8);
	tw_locate_free(root);
	memset(deep, '[', sizeof(deep));
	assert_int_equal(tw_locate(deep, sizeof(deep), 0, 1, 1, &root),
			 -EINVAL);
	tw_locate_free(root);
}

/* ------------------------------------------------------------------ */

#define MAX_TESTS 512

static struct CMUnitTest tests[MAX_TESTS];
static size_t ntests;

static void add(const char *name, CMUnitTestFunction fn, const void *row)
{
	if (ntests == MAX_TESTS)
		abort();
	tests[ntests++] = (struct CMUnitTest){
		.name = name,
		.test_func = fn,
		.initial_state = (void *)row,
	};
}

#define ROWS(table, field, fn)                              \
	for (i = 0; i < UNIT_ARRAY_SIZE(table); i++)        \
		add(table[i].field, fn, &table[i])

/* Brokered origins as the broker and the kernel redirect read them. */
struct svc_case {
	const char *text;
	int ret;
	bool tls;
	const char *host;
	unsigned port;
	int family;
	const char *str; /* tw_service_str */
};

static const struct svc_case svc_cases[] = {
	{ "https://API.Tracker.example", 0, true, "api.tracker.example", 443, 0,
	  "https://api.tracker.example" },
	{ "http://10.20.1.10:8080/", 0, false, "10.20.1.10", 8080, 4,
	  "http://10.20.1.10:8080" },
	{ "https://[2001:db8::1]:8443", 0, true, "2001:db8::1", 8443, 6,
	  "https://[2001:db8::1]:8443" },
	{ "https://[::ffff:10.0.0.1]", 0, true, "::ffff:10.0.0.1", 443, 6,
	  "https://[::ffff:10.0.0.1]" },
	{ "https://a.example:443", 0, true, "a.example", 443, 0,
	  "https://a.example" },
	{ "ftp://a.example", -EINVAL },
	{ "https://", -EINVAL },
	{ "https://a.example:", -EINVAL },
	{ "https://a.example:65536", -EINVAL },
	{ "https://a.example:+1", -EINVAL },
	{ "https://user@a.example", -EINVAL },
	{ "https://a.example/path", -EINVAL },
	{ "https://a..example", -EINVAL },
	{ "https://a_b.example", -EINVAL },
	{ "https://[2001:db8::1", -EINVAL },
	{ "https://[2001:db8::1]x", -EINVAL },
};

static void test_service(void **state)
{
	const struct svc_case *t = *state;
	struct tw_service sv;
	char err[128], str[300];
	int ret = tw_service_parse(t->text, &sv, err, sizeof(err));

	assert_int_equal(ret, t->ret);
	if (ret) {
		assert_true(err[0]);
		return;
	}
	assert_int_equal(sv.tls, t->tls);
	assert_string_equal(sv.host, t->host);
	assert_int_equal(sv.port, t->port);
	assert_int_equal(sv.family, t->family);
	tw_service_str(&sv, str, sizeof(str));
	assert_string_equal(str, t->str);
}

static void test_header_template(void **state)
{
	static const char *const good[] = { "Authorization: Bearer {}",
					    "X-Api-Key: {}", "Cookie: s={}; x=1",
					    "PRIVATE-TOKEN:{}" };
	static const char *const bad[] = { "Authorization Bearer {}", ": {}",
					   "X: none", "X: {} {}", "X Y: {}",
					   "X: {}\r\nEvil: 1", "X: {}\n" };

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(good); i++)
		if (!tw_header_valid(good[i]))
			fail_msg("%s should be a valid template", good[i]);
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(bad); i++)
		if (tw_header_valid(bad[i]))
			fail_msg("%s should be refused", bad[i]);
}

int main(void)
{
	size_t i;

	ROWS(ep_ok, text, test_endpoint_ok);
	ROWS(ep_bad, text, test_endpoint_bad);
	ROWS(ports_cases, in, test_ports);
	ROWS(snippets, name, test_snippet);
	ROWS(svc_cases, text, test_service);
	add("header templates", test_header_template, NULL);
	add("unix path limit", test_unix_path_limit, NULL);
	add("dns name limits", test_dns_name_limits, NULL);
	add("names", test_names, NULL);
	add("spec example", test_spec_example, NULL);
	add("array and two files", test_array_and_files, NULL);
	add("diagnostics", test_diags, NULL);
	add("a JSON syntax error first", test_syntax_error_first, NULL);
	add("NUL byte", test_nul_byte, NULL);
	add("malformed corpus", test_malformed_corpus, NULL);
	add("reference policy", test_reference_policy, NULL);
	add("load a directory", test_load_dir, NULL);
	add("load a missing path", test_load_missing, NULL);
	add("locate", test_locate, NULL);
	add("locate garbage", test_locate_garbage, NULL);
	return _cmocka_run_group_tests("policy", tests, ntests, NULL, NULL);
}
