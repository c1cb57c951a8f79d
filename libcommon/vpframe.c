/*
 * vpframe: vproxy tunnel frame encoding and the incremental decoder.
 */
#include <string.h>

#include "vpframe.h"

uint32_t
vpf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
vpf_get64(const uint8_t *p)
{
	return (uint64_t)vpf_get32(p) << 32 | vpf_get32(p + 4);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
vpf_hdr_parse(const uint8_t in[VPF_HDRLEN], struct vpf_hdr *h)
{
	h->len = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
	h->type = in[3];
	h->flags = in[4];
	h->rbit = (in[5] & 0x80) != 0;
	h->sid = vpf_get32(in + 5) & VPF_SIDMAX;
}

void
vpf_hdr_put(uint8_t out[VPF_HDRLEN], uint32_t len, uint8_t type,
    uint8_t flags, uint32_t sid)
{
	out[0] = (len >> 16) & 0xff;
	out[1] = (len >> 8) & 0xff;
	out[2] = len & 0xff;
	out[3] = type;
	out[4] = flags;
	put32(out + 5, sid & VPF_SIDMAX);
}

void
vpf_dec_init(struct vpf_dec *d, uint32_t maxlen)
{
	memset(d, 0, sizeof(*d));
	d->maxlen = maxlen > VPF_LENMAX ? VPF_LENMAX : maxlen;
}

/* Checks a complete header. Returns VPF_OK or the error. */
static enum vpf_err
check_hdr(const struct vpf_dec *d, const struct vpf_hdr *h)
{
	if (h->rbit)
		return VPF_ERBIT;
	if (h->len > d->maxlen)
		return VPF_ETOOBIG;
	switch (h->type) {
	case VPF_DATA:
		if (h->sid == 0)
			return VPF_ESTREAM0;
		return VPF_OK;
	case VPF_HEADERS:
		if (h->sid == 0)
			return VPF_ESTREAM0;
		if (h->len != 0)
			return VPF_EHDRPAYLOAD;
		return VPF_OK;
	case VPF_SETTINGS:
		if (h->sid != 0)
			return VPF_ESTREAMN;
		if (h->len % 6 != 0 || (h->flags & VPF_F_ACK))
			return VPF_ESETTINGS;
		return VPF_OK;
	case VPF_PING:
	case VPF_GOAWAY:
		if (h->sid != 0)
			return VPF_ESTREAMN;
		return VPF_OK;
	case VPF_WINDOW_UPDATE:
		if (h->len != 4)
			return VPF_EWINDOW;
		return VPF_OK;
	default:
		return VPF_ETYPE;
	}
}

size_t
vpf_dec_feed(struct vpf_dec *d, const uint8_t *in, size_t n,
    struct vpf_event *ev)
{
	size_t used = 0, take, want;

	memset(ev, 0, sizeof(*ev));
	if (d->err != VPF_OK) {
		ev->kind = VPF_EV_ERROR;
		return 0;
	}
	for (;;) {
		if (d->hlen < VPF_HDRLEN) {
			take = VPF_HDRLEN - d->hlen;
			if (take > n - used)
				take = n - used;
			memcpy(d->hdr + d->hlen, in + used, take);
			d->hlen += take;
			used += take;
			if (d->hlen < VPF_HDRLEN) {
				ev->kind = VPF_EV_NONE;
				return used;
			}
			vpf_hdr_parse(d->hdr, &d->h);
			d->got = 0;
			d->started = 0;
			if ((d->err = check_hdr(d, &d->h)) != VPF_OK) {
				ev->kind = VPF_EV_ERROR;
				ev->h = d->h;
				return used;
			}
		}
		ev->h = d->h;
		if (d->h.type == VPF_DATA) {
			want = d->h.len - d->got;
			take = want < n - used ? want : n - used;
			if (take == 0 && want > 0) {
				ev->kind = VPF_EV_NONE;
				return used;
			}
			ev->kind = VPF_EV_DATA;
			ev->p = in + used;
			ev->n = take;
			ev->first = !d->started;
			d->started = 1;
			d->got += take;
			used += take;
			ev->last = d->got == d->h.len;
			if (ev->last) {
				d->hlen = 0;
				d->frames++;
			}
			return used;
		}
		/* Control frame: keep up to VPF_CTLMAX bytes, skip the rest. */
		want = d->h.len - d->got;
		take = want < n - used ? want : n - used;
		if (d->got < VPF_CTLMAX) {
			size_t keep = VPF_CTLMAX - d->got;

			memcpy(d->ctl + d->got, in + used,
			    take < keep ? take : keep);
		}
		d->got += take;
		used += take;
		if (d->got < d->h.len) {
			ev->kind = VPF_EV_NONE;
			return used;
		}
		ev->kind = VPF_EV_CTL;
		ev->p = d->ctl;
		ev->n = d->h.len < VPF_CTLMAX ? d->h.len : VPF_CTLMAX;
		ev->first = ev->last = 1;
		d->hlen = 0;
		d->frames++;
		if (d->h.type == VPF_WINDOW_UPDATE &&
		    (vpf_get32(d->ctl) & VPF_SIDMAX) == 0) {
			d->err = VPF_EWINDOW;
			ev->kind = VPF_EV_ERROR;
		}
		return used;
	}
}

size_t
vpf_put_settings_empty(uint8_t *out, size_t cap)
{
	return vpf_put_settings(out, cap, NULL, NULL, 0);
}

size_t
vpf_put_settings(uint8_t *out, size_t cap, const uint16_t *ids,
    const uint32_t *vals, size_t n)
{
	size_t i, len = VPF_HDRLEN + 6 * n;

	if (cap < len)
		return 0;
	vpf_hdr_put(out, 6 * n, VPF_SETTINGS, 0, 0);
	for (i = 0; i < n; i++) {
		out[VPF_HDRLEN + 6 * i] = ids[i] >> 8;
		out[VPF_HDRLEN + 6 * i + 1] = ids[i] & 0xff;
		put32(out + VPF_HDRLEN + 6 * i + 2, vals[i]);
	}
	return len;
}

int
vpf_parse_settings(const uint8_t *p, size_t n, uint16_t *ids, uint32_t *vals,
    size_t max)
{
	size_t i, k = 0;

	if (n % 6 != 0)
		return -1;
	for (i = 0; i + 6 <= n && k < max; i += 6, k++) {
		ids[k] = (uint16_t)(p[i] << 8 | p[i + 1]);
		vals[k] = vpf_get32(p + i + 2);
	}
	return (int)k;
}

static size_t
put_empty(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
    uint32_t sid)
{
	if (cap < VPF_HDRLEN)
		return 0;
	vpf_hdr_put(out, 0, type, flags, sid);
	return VPF_HDRLEN;
}

size_t
vpf_put_syn(uint8_t *out, size_t cap, uint32_t sid)
{
	return put_empty(out, cap, VPF_HEADERS, 0, sid);
}

size_t
vpf_put_rst(uint8_t *out, size_t cap, uint32_t sid)
{
	return put_empty(out, cap, VPF_HEADERS, VPF_F_END, sid);
}

size_t
vpf_put_fin(uint8_t *out, size_t cap, uint32_t sid)
{
	return put_empty(out, cap, VPF_DATA, VPF_F_END, sid);
}

size_t
vpf_put_data(uint8_t *out, size_t cap, uint32_t sid, const void *p, size_t n,
    int fin)
{
	if (n > VPF_LENMAX || cap < VPF_HDRLEN + n)
		return 0;
	vpf_hdr_put(out, n, VPF_DATA, fin ? VPF_F_END : 0, sid);
	if (n > 0 && out + VPF_HDRLEN != p)
		memmove(out + VPF_HDRLEN, p, n);
	return VPF_HDRLEN + n;
}

size_t
vpf_put_ping(uint8_t *out, size_t cap, uint64_t id, int ack)
{
	if (cap < VPF_HDRLEN + VPF_PINGLEN)
		return 0;
	vpf_hdr_put(out, VPF_PINGLEN, VPF_PING, ack ? VPF_F_ACK : 0, 0);
	put32(out + VPF_HDRLEN, id >> 32);
	put32(out + VPF_HDRLEN + 4, id & 0xffffffffu);
	return VPF_HDRLEN + VPF_PINGLEN;
}

size_t
vpf_put_goaway(uint8_t *out, size_t cap, const char *reason)
{
	size_t m = reason != NULL ? strlen(reason) : 0;

	if (m > VPF_CTLMAX - VPF_GOAWAYHDR)
		m = VPF_CTLMAX - VPF_GOAWAYHDR;
	if (cap < VPF_HDRLEN + VPF_GOAWAYHDR + m)
		return 0;
	vpf_hdr_put(out, VPF_GOAWAYHDR + m, VPF_GOAWAY, 0, 0);
	memset(out + VPF_HDRLEN, 0xff, VPF_GOAWAYHDR);
	if (m > 0)
		memcpy(out + VPF_HDRLEN + VPF_GOAWAYHDR, reason, m);
	return VPF_HDRLEN + VPF_GOAWAYHDR + m;
}

size_t
vpf_put_window(uint8_t *out, size_t cap, uint32_t sid, uint32_t inc)
{
	if (cap < VPF_HDRLEN + 4 || inc == 0 || inc > VPF_SIDMAX)
		return 0;
	vpf_hdr_put(out, 4, VPF_WINDOW_UPDATE, 0, sid);
	put32(out + VPF_HDRLEN, inc);
	return VPF_HDRLEN + 4;
}

const char *
vpf_strerror(enum vpf_err e)
{
	switch (e) {
	case VPF_OK:
		return "no error";
	case VPF_ERBIT:
		return "reserved bit set in stream id";
	case VPF_ETOOBIG:
		return "frame too large";
	case VPF_ETYPE:
		return "unexpected frame type";
	case VPF_EHDRPAYLOAD:
		return "HEADERS frame with a payload";
	case VPF_ESTREAM0:
		return "stream frame on stream 0";
	case VPF_ESTREAMN:
		return "tunnel frame on a stream";
	case VPF_ESETTINGS:
		return "malformed SETTINGS";
	case VPF_EWINDOW:
		return "malformed WINDOW_UPDATE";
	case VPF_EFLAGS:
		return "bad frame flags";
	}
	return "frame error";
}

const char *
vpf_typename(uint8_t type)
{
	static const char *names[] = { "DATA", "HEADERS", "PRIORITY",
	    "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
	    "WINDOW_UPDATE", "CONTINUATION" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] :
	    "UNKNOWN";
}
