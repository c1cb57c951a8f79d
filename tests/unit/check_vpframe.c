/*
 * Unit tests for vpframe: the wire-spec §3.1 byte vectors, the
 * incremental decoder fed one byte at a time and truncated at every
 * byte, oversized frames, unknown types, wrong streams, the reserved bit.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vpframe.h"

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (*h != '\0') {
		if (*h == ' ' || *h == '|') {
			h++;
			continue;
		}
		ck_assert(sscanf(h, "%2x", &v) == 1);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static void
eq_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[256];
	size_t k = unhex(hex, want);

	ck_assert_uint_eq(n, k);
	ck_assert(memcmp(p, want, k) == 0);
}

START_TEST(vectors_encode)
{
	uint8_t f[256];
	uint16_t id = VPF_SET_VERSION;
	uint32_t v = 1;

	eq_hex(f, vpf_put_settings_empty(f, sizeof(f)), "00 00 00 04 00 00 00 00 00");
	eq_hex(f, vpf_put_syn(f, sizeof(f), 1), "00 00 00 01 00 00 00 00 01");
	memcpy(f + VPF_HDRLEN, "hi", 2);
	eq_hex(f, vpf_put_data(f, sizeof(f), 1, f + VPF_HDRLEN, 2, 0),
	    "00 00 02 00 00 00 00 00 01 68 69");
	eq_hex(f, vpf_put_data(f, sizeof(f), 1, "hi", 2, 0),
	    "00 00 02 00 00 00 00 00 01 68 69");
	eq_hex(f, vpf_put_fin(f, sizeof(f), 1), "00 00 00 00 01 00 00 00 01");
	eq_hex(f, vpf_put_rst(f, sizeof(f), 3), "00 00 00 01 01 00 00 00 03");
	eq_hex(f, vpf_put_ping(f, sizeof(f), 1, 0),
	    "00 00 08 06 00 00 00 00 00 | 00 00 00 00 00 00 00 01");
	eq_hex(f, vpf_put_ping(f, sizeof(f), 1, 1),
	    "00 00 08 06 01 00 00 00 00 | 00 00 00 00 00 00 00 01");
	eq_hex(f, vpf_put_goaway(f, sizeof(f), "bye"),
	    "00 00 0B 07 00 00 00 00 00 | FF FF FF FF | FF FF FF FF | 62 79 65");
	eq_hex(f, vpf_put_window(f, sizeof(f), 5, 0x10000),
	    "00 00 04 08 00 00 00 00 05 00 01 00 00");
	eq_hex(f, vpf_put_settings(f, sizeof(f), &id, &v, 1),
	    "00 00 06 04 00 00 00 00 00 f0 e1 00 00 00 01");
	/* Too small a buffer: nothing written. */
	ck_assert_uint_eq(vpf_put_syn(f, 8, 1), 0);
	ck_assert_uint_eq(vpf_put_goaway(f, 16, "bye"), 0);
	ck_assert_uint_eq(vpf_put_window(f, sizeof(f), 1, 0), 0);
	ck_assert_uint_eq(vpf_put_window(f, sizeof(f), 1, 0x80000000u), 0);
	/* The reserved bit is never sent. */
	vpf_put_syn(f, sizeof(f), 0xffffffffu);
	ck_assert_uint_eq(f[5] & 0x80, 0);
}
END_TEST

/* Decodes all of in[0..n) one byte at a time; returns the events. */
static int
decode_bytewise(const uint8_t *in, size_t n, struct vpf_event *evs, int max,
    uint8_t *data, size_t *dlen, uint32_t maxlen)
{
	struct vpf_dec d;
	struct vpf_event ev;
	size_t i, used;
	int k = 0;

	vpf_dec_init(&d, maxlen);
	*dlen = 0;
	for (i = 0; i < n; i += used) {
		used = vpf_dec_feed(&d, in + i, 1, &ev);
		if (ev.kind == VPF_EV_ERROR) {
			evs[k++] = ev;
			return k;
		}
		if (ev.kind == VPF_EV_DATA) {
			memcpy(data + *dlen, ev.p, ev.n);
			*dlen += ev.n;
		}
		if (ev.kind != VPF_EV_NONE && k < max &&
		    (ev.kind != VPF_EV_DATA || ev.last)) {
			/* The decoder reuses its control buffer: keep a copy. */
			static uint8_t copy[16][64];

			if (ev.kind == VPF_EV_CTL && k < 16) {
				memcpy(copy[k], ev.p, ev.n < 64 ? ev.n : 64);
				ev.p = copy[k];
			}
			evs[k++] = ev;
		}
		/* One byte in, one byte consumed: frames complete in place. */
		ck_assert_uint_eq(used, 1);
	}
	return k;
}

START_TEST(vectors_decode)
{
	uint8_t in[512], data[64];
	struct vpf_event evs[16];
	size_t n, dlen;
	int k;

	n = unhex("00 00 00 04 00 00 00 00 00"
	    "00 00 00 01 00 00 00 00 01"
	    "00 00 02 00 00 00 00 00 01 68 69"
	    "00 00 00 00 01 00 00 00 01"
	    "00 00 00 01 01 00 00 00 03"
	    "00 00 08 06 00 00 00 00 00 00 00 00 00 00 00 00 01"
	    "00 00 08 06 01 00 00 00 00 00 00 00 00 00 00 00 01"
	    "00 00 0B 07 00 00 00 00 00 FF FF FF FF FF FF FF FF 62 79 65", in);
	k = decode_bytewise(in, n, evs, 16, data, &dlen, VPF_LENMAX);
	ck_assert_int_eq(k, 8);
	ck_assert_int_eq(evs[0].kind, VPF_EV_CTL);
	ck_assert_uint_eq(evs[0].h.type, VPF_SETTINGS);
	ck_assert_uint_eq(evs[1].h.type, VPF_HEADERS);
	ck_assert_uint_eq(evs[1].h.flags, 0);
	ck_assert_uint_eq(evs[1].h.sid, 1);
	ck_assert_int_eq(evs[2].kind, VPF_EV_DATA);
	ck_assert_uint_eq(evs[2].h.len, 2);
	ck_assert_uint_eq(dlen, 2);
	ck_assert(memcmp(data, "hi", 2) == 0);
	ck_assert_int_eq(evs[3].kind, VPF_EV_DATA);
	ck_assert_uint_eq(evs[3].h.flags, VPF_F_END);
	ck_assert_uint_eq(evs[3].n, 0);
	ck_assert(evs[3].first && evs[3].last);
	ck_assert_uint_eq(evs[4].h.flags, VPF_F_END);
	ck_assert_uint_eq(evs[4].h.sid, 3);
	ck_assert_uint_eq(evs[5].h.type, VPF_PING);
	ck_assert_uint_eq(vpf_get64(evs[5].p), 1);
	ck_assert_uint_eq(evs[6].h.flags, VPF_F_ACK);
	ck_assert_uint_eq(evs[7].h.type, VPF_GOAWAY);
	ck_assert_uint_eq(evs[7].n, 11);
	ck_assert(memcmp(evs[7].p + 8, "bye", 3) == 0);
}
END_TEST

/* Every prefix of a valid stream: never an error, never a spurious event. */
START_TEST(truncated_everywhere)
{
	uint8_t in[256], data[64];
	struct vpf_event evs[16];
	size_t n, cut, dlen;
	int k, full;

	n = unhex("00 00 00 04 00 00 00 00 00"
	    "00 00 05 00 00 00 00 00 01 61 62 63 64 65"
	    "00 00 08 06 00 00 00 00 00 00 00 00 00 00 00 00 07"
	    "00 00 04 08 00 00 00 00 01 00 00 10 00"
	    "00 00 00 00 01 00 00 00 01", in);
	full = decode_bytewise(in, n, evs, 16, data, &dlen, VPF_LENMAX);
	ck_assert_int_eq(full, 5);
	for (cut = 0; cut < n; cut++) {
		k = decode_bytewise(in, cut, evs, 16, data, &dlen, VPF_LENMAX);
		ck_assert_int_le(k, full);
		ck_assert(k == 0 || evs[k - 1].kind != VPF_EV_ERROR);
	}
}
END_TEST

/* DATA split in pieces keeps first/last right and never copies. */
START_TEST(data_pieces)
{
	struct vpf_dec d;
	struct vpf_event ev;
	uint8_t in[9 + 10];
	size_t used;

	vpf_dec_init(&d, 100);
	vpf_hdr_put(in, 10, VPF_DATA, VPF_F_END, 7);
	memcpy(in + 9, "0123456789", 10);
	used = vpf_dec_feed(&d, in, 12, &ev);
	ck_assert_uint_eq(used, 12);
	ck_assert_int_eq(ev.kind, VPF_EV_DATA);
	ck_assert(ev.first && !ev.last);
	ck_assert_uint_eq(ev.n, 3);
	ck_assert_ptr_eq(ev.p, in + 9);
	used = vpf_dec_feed(&d, in + 12, 7, &ev);
	ck_assert_uint_eq(used, 7);
	ck_assert(!ev.first && ev.last);
	ck_assert_uint_eq(ev.n, 7);
	ck_assert_uint_eq(ev.h.flags, VPF_F_END);
	used = vpf_dec_feed(&d, in, 0, &ev);
	ck_assert_int_eq(ev.kind, VPF_EV_NONE);
	ck_assert_uint_eq(d.frames, 1);
}
END_TEST

static enum vpf_err
decode_err(const char *hex, uint32_t maxlen)
{
	uint8_t in[64];
	struct vpf_dec d;
	struct vpf_event ev;
	size_t n = unhex(hex, in), off = 0, used;

	vpf_dec_init(&d, maxlen);
	while (off < n) {
		used = vpf_dec_feed(&d, in + off, n - off, &ev);
		if (ev.kind == VPF_EV_ERROR)
			return d.err;
		off += used;
		if (used == 0 && ev.kind == VPF_EV_NONE)
			break;
	}
	return VPF_OK;
}

START_TEST(bad_frames)
{
	/* SYN with the top bit set. */
	ck_assert_int_eq(decode_err("00 00 00 01 00 80 00 00 01", VPF_LENMAX),
	    VPF_ERBIT);
	/* HEADERS with len 1. */
	ck_assert_int_eq(decode_err("00 00 01 01 00 00 00 00 01 00", VPF_LENMAX),
	    VPF_EHDRPAYLOAD);
	/* Oversized for the limit (the header alone decides). */
	ck_assert_int_eq(decode_err("00 40 01 00 00 00 00 00 01", 0x4000),
	    VPF_ETOOBIG);
	ck_assert_int_eq(decode_err("00 40 00 00 00 00 00 00 01", 0x4000),
	    VPF_OK);
	/* Types vproxy treats as fatal. */
	ck_assert_int_eq(decode_err("00 00 00 02 00 00 00 00 01", VPF_LENMAX),
	    VPF_ETYPE);
	ck_assert_int_eq(decode_err("00 00 04 03 00 00 00 00 01 00 00 00 00",
	    VPF_LENMAX), VPF_ETYPE);
	ck_assert_int_eq(decode_err("00 00 00 05 00 00 00 00 01", VPF_LENMAX),
	    VPF_ETYPE);
	ck_assert_int_eq(decode_err("00 00 00 09 00 00 00 00 01", VPF_LENMAX),
	    VPF_ETYPE);
	ck_assert_int_eq(decode_err("00 00 00 ff 00 00 00 00 00", VPF_LENMAX),
	    VPF_ETYPE);
	/* Wrong stream: DATA/HEADERS on 0, tunnel frames on a stream. */
	ck_assert_int_eq(decode_err("00 00 00 00 01 00 00 00 00", VPF_LENMAX),
	    VPF_ESTREAM0);
	ck_assert_int_eq(decode_err("00 00 00 01 00 00 00 00 00", VPF_LENMAX),
	    VPF_ESTREAM0);
	ck_assert_int_eq(decode_err("00 00 08 06 00 00 00 00 01 "
	    "00 00 00 00 00 00 00 01", VPF_LENMAX), VPF_ESTREAMN);
	ck_assert_int_eq(decode_err("00 00 08 07 00 00 00 00 03 "
	    "ff ff ff ff ff ff ff ff", VPF_LENMAX), VPF_ESTREAMN);
	ck_assert_int_eq(decode_err("00 00 00 04 00 00 00 00 01", VPF_LENMAX),
	    VPF_ESTREAMN);
	/* SETTINGS: length not a multiple of 6; ACK flag. */
	ck_assert_int_eq(decode_err("00 00 05 04 00 00 00 00 00 00 00 00 00 00",
	    VPF_LENMAX), VPF_ESETTINGS);
	ck_assert_int_eq(decode_err("00 00 00 04 01 00 00 00 00", VPF_LENMAX),
	    VPF_ESETTINGS);
	/* WINDOW_UPDATE: not 4 bytes; zero increment. */
	ck_assert_int_eq(decode_err("00 00 03 08 00 00 00 00 00 00 00 01",
	    VPF_LENMAX), VPF_EWINDOW);
	ck_assert_int_eq(decode_err("00 00 04 08 00 00 00 00 00 00 00 00 00",
	    VPF_LENMAX), VPF_EWINDOW);
	/* A short PING is legal at this layer (the tunnel ignores it). */
	ck_assert_int_eq(decode_err("00 00 02 06 00 00 00 00 00 00 01",
	    VPF_LENMAX), VPF_OK);
	ck_assert_str_eq(vpf_strerror(VPF_ERBIT), "reserved bit set in stream id");
	ck_assert_str_eq(vpf_typename(8), "WINDOW_UPDATE");
	ck_assert_str_eq(vpf_typename(200), "UNKNOWN");
}
END_TEST

/* After an error the decoder consumes nothing more. */
START_TEST(sticky_error)
{
	struct vpf_dec d;
	struct vpf_event ev;
	uint8_t in[18];

	vpf_dec_init(&d, VPF_LENMAX);
	unhex("00 00 00 01 00 80 00 00 01 00 00 00 04 00 00 00 00 00", in);
	(void)vpf_dec_feed(&d, in, sizeof(in), &ev);
	ck_assert_int_eq(ev.kind, VPF_EV_ERROR);
	ck_assert_uint_eq(vpf_dec_feed(&d, in + 9, 9, &ev), 0);
	ck_assert_int_eq(ev.kind, VPF_EV_ERROR);
}
END_TEST

/* Control payloads beyond VPF_CTLMAX are consumed, not stored. */
START_TEST(long_control)
{
	struct vpf_dec d;
	struct vpf_event ev;
	uint8_t *in;
	size_t n = VPF_HDRLEN + 5000, used;

	in = calloc(1, n);
	vpf_hdr_put(in, 5000, VPF_GOAWAY, 0, 0);
	memset(in + VPF_HDRLEN, 'x', 5000);
	vpf_dec_init(&d, VPF_LENMAX);
	used = vpf_dec_feed(&d, in, n, &ev);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(ev.kind, VPF_EV_CTL);
	ck_assert_uint_eq(ev.n, VPF_CTLMAX);
	ck_assert_uint_eq(ev.h.len, 5000);
	free(in);
}
END_TEST

/* Random bytes never crash the decoder and always end in a defined state. */
START_TEST(hostile_random)
{
	struct vpf_dec d;
	struct vpf_event ev;
	uint8_t in[4096];
	size_t off, used;
	int round, i;

	srand(1);
	for (round = 0; round < 2000; round++) {
		for (i = 0; i < (int)sizeof(in); i++)
			in[i] = (uint8_t)rand();
		vpf_dec_init(&d, 1u << (rand() % 25));
		for (off = 0; off < sizeof(in); off += used) {
			used = vpf_dec_feed(&d, in + off,
			    1 + rand() % (sizeof(in) - off), &ev);
			if (ev.kind == VPF_EV_ERROR)
				break;
			ck_assert(ev.kind != VPF_EV_DATA || ev.n <= d.maxlen);
		}
	}
}
END_TEST

START_TEST(settings_parse)
{
	uint8_t p[18];
	uint16_t ids[2];
	uint32_t vals[2];

	unhex("f0 e1 00 00 00 01 f0 e2 00 08 00 00 00 03 00 00 00 64", p);
	ck_assert_int_eq(vpf_parse_settings(p, 18, ids, vals, 2), 2);
	ck_assert_uint_eq(ids[1], VPF_SET_STREAM_WINDOW);
	ck_assert_uint_eq(vals[1], 0x80000);
	ck_assert_int_eq(vpf_parse_settings(p, 17, ids, vals, 2), -1);
	ck_assert_int_eq(vpf_parse_settings(p, 0, ids, vals, 2), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpframe");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, vectors_encode);
	tcase_add_test(tc, vectors_decode);
	tcase_add_test(tc, truncated_everywhere);
	tcase_add_test(tc, data_pieces);
	tcase_add_test(tc, bad_frames);
	tcase_add_test(tc, sticky_error);
	tcase_add_test(tc, long_control);
	tcase_add_test(tc, hostile_random);
	tcase_add_test(tc, settings_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
