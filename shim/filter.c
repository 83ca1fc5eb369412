/* Address helpers and the filter lists of SHARDINIT_SHIM_REUSEPORT,
 * SHARDINIT_SHIM_REUSEADDR and SHARDINIT_SHIM_BINDTODEVICE_FILTER.
 *
 * Parsing happens once, in the library's constructor; matching runs inside
 * every bind() and therefore neither allocates nor makes a system call. */
#define _GNU_SOURCE
#include "filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Stores an address, turning ::ffff:a.b.c.d into a.b.c.d. */
static void inaddr_set(struct inaddr *out, int family, const void *addr, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->port = port;
	if (family == AF_INET6 && memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		out->family = AF_INET;
		memcpy(out->addr, (const unsigned char *)addr + 12, 4);
		return;
	}
	out->family = family;
	memcpy(out->addr, addr, family == AF_INET ? 4 : 16);
}

int inaddr_from_sockaddr(struct inaddr *out, const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return -1;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inaddr_set(out, AF_INET, &sin->sin_addr, ntohs(sin->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inaddr_set(out, AF_INET6, &sin6->sin6_addr, ntohs(sin6->sin6_port));
		return 0;
	}
	return -1;
}

int inaddr_is_wildcard(const struct inaddr *a)
{
	static const unsigned char zero[16];
	return memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16) == 0;
}

int inaddr_same_host(const struct inaddr *a, const struct inaddr *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

void inaddr_format(const struct inaddr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	if (inet_ntop(a->family, a->addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	if (a->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", host, (unsigned)a->port);
	else
		snprintf(buf, size, "%s:%u", host, (unsigned)a->port);
}

int parse_decimal(const char *s, long max, long *out)
{
	long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* "1".."65535" exactly. */
static int parse_port(const char *s, uint16_t *port)
{
	long v;

	if (parse_decimal(s, 65535, &v) < 0 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* PORTPART is "*" (any port) or a port number. */
static int parse_port_part(const char *s, struct filter_entry *e)
{
	if (strcmp(s, "*") == 0) {
		e->kind = FILTER_HOST;
		return 0;
	}
	e->kind = FILTER_HOST_PORT;
	return parse_port(s, &e->port);
}

/* Parses one trimmed, NUL-terminated entry; tok is modified. Returns NULL
 * on success, or why it failed. */
static const char *parse_entry(char *tok, struct filter_entry *e)
{
	unsigned char bytes[16];
	char *colon;

	memset(e, 0, sizeof(*e));
	if (strcmp(tok, "*") == 0 || strcmp(tok, ":*") == 0) {
		e->kind = FILTER_ANY;
		return NULL;
	}
	if (tok[0] == ':') {
		e->kind = FILTER_PORT;
		return parse_port(tok + 1, &e->port) == 0 ? NULL : "bad port";
	}
	if (tok[0] == '[') {
		char *close = strchr(tok, ']');
		if (close == NULL || close[1] != ':')
			return "want [HOST]:PORT";
		*close = '\0';
		if (inet_pton(AF_INET6, tok + 1, bytes) != 1)
			return "bad IPv6 address (no zone ids)";
		inaddr_set(&e->host, AF_INET6, bytes, 0);
		return parse_port_part(close + 2, e) == 0 ? NULL : "bad port";
	}
	colon = strchr(tok, ':');
	if (colon == NULL)
		return "want HOST:PORT";
	if (strchr(colon + 1, ':') != NULL)
		return "IPv6 addresses need brackets: [HOST]:PORT";
	*colon = '\0';
	if (inet_pton(AF_INET, tok, bytes) != 1)
		return "bad IPv4 address (literals only, no names)";
	inaddr_set(&e->host, AF_INET, bytes, 0);
	return parse_port_part(colon + 1, e) == 0 ? NULL : "bad port";
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

void filter_parse(struct filter *f, const char *name, const char *spec)
{
	const char *p = spec;

	memset(f, 0, sizeof(*f));
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char tok[128];
		const char *why;

		/* Trim the blanks around the entry; skip empty entries ("a,,b"). */
		while (len > 0 && is_space(*p)) {
			p++;
			len--;
		}
		while (len > 0 && is_space(p[len - 1]))
			len--;
		if (len >= sizeof(tok)) {
			shim_log("%s: ignoring an entry of %zu characters (too long)", name, len);
		} else if (len > 0) {
			memcpy(tok, p, len);
			tok[len] = '\0';
			if (f->n == FILTER_MAX)
				shim_log("%s: more than %d entries, ignoring \"%s\"", name, FILTER_MAX, tok);
			else if ((why = parse_entry(tok, &f->e[f->n])) != NULL)
				shim_log("%s: ignoring \"%.*s\": %s", name, (int)len, p, why);
			else
				f->n++;
		}
		p = end ? end + 1 : NULL;
	}
}

static int entry_match(const struct filter_entry *e, const struct inaddr *a)
{
	switch (e->kind) {
	case FILTER_ANY:
		return 1;
	case FILTER_PORT:
		return a->port == e->port;
	case FILTER_HOST_PORT:
		return a->port == e->port && inaddr_same_host(&e->host, a);
	case FILTER_HOST:
		return inaddr_same_host(&e->host, a);
	}
	return 0;
}

int filter_match(const struct filter *f, const struct inaddr *a)
{
	int i;

	if (a->port == 0)
		return 0;
	for (i = 0; i < f->n; i++)
		if (entry_match(&f->e[i], a))
			return 1;
	return 0;
}
