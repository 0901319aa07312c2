/*
 * roomcast-ceiling: the "machine floor" for Roomcast benchmarks.
 *
 * A single-threaded epoll broadcaster in plain C that speaks just enough
 * Engine.IO v4 / Socket.IO v5 over WebSocket for bench/loadgen and for a stock
 * socket.io-client with transports: ["websocket"]. It is what the hardware and
 * kernel allow for the same job, with no framework in the way:
 *
 *   GET  /socket.io/?EIO=4&transport=websocket  WebSocket upgrade, Engine.IO
 *        open, Socket.IO CONNECT to "/", `join` events (a room or a list of
 *        rooms, acked with the socket's rooms), pings every 25 s.
 *   POST /api/socket/emit  {"room":"r","event":"e","data":<any JSON>}; no room
 *        means every connected socket. Answers {"recipients":"<n>"}.
 *
 * How: one epoll set, edge-triggered, never modified after a connection is
 * added. An emit builds its WebSocket frame once, in one reference-counted
 * buffer; every recipient queues a pointer to it. Writes are corked: queues
 * fill during an epoll_wait iteration, and at its end each dirty connection
 * is flushed with one writev(). A connection that falls 8 MB behind is dropped.
 * An idle connection costs its 56-byte slot in a lazily mapped fd-indexed
 * table, an 8-byte entry per room and two tiny allocations (its rooms, a
 * 4-pointer queue): reads go through one shared scratch buffer and only a
 * partial request or frame is kept per connection.
 *
 * Deliberately left out: HTTP long-polling and upgrades, namespaces other than
 * "/", binary packets and attachments, acks from the server to the client,
 * events other than `join` (no leave, no client broadcast), auth, TLS,
 * compression, fragmented client messages, heartbeat timeouts (a dead client
 * goes away only on a read error or EOF), room deletion, metrics.
 *
 * Build: gcc -O2 -Wall -Wextra -o roomcast-ceiling ceiling.c -lcrypto
 * Run:   roomcast-ceiling --port=3001 [--host=127.0.0.1]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef PING_MS
#define PING_MS 25000 /* -DPING_MS=1000 to watch pings */
#endif
#define MAX_BACKLOG (8u << 20) /* queued output beyond this: slow consumer, dropped */
#define MAX_HEADER 16384
#define MAX_PAYLOAD 1000000
#define MAX_PARTIAL (MAX_PAYLOAD + MAX_HEADER) /* a partial request or frame */
#define MAX_ROOMS_PER_CONN 64
#define SCRATCH 65536
#define IOV_BATCH 64
#define LISTENER UINT64_MAX

enum { C_FREE, C_HTTP, C_EIO, C_SIO }; /* C_EIO: Engine.IO open; C_SIO: connected to "/" */
enum { F_DIRTY = 1, F_LINGER = 2, F_DROP = 4, F_CONTINUED = 8 };

/* An immutable, reference-counted piece of output: a WebSocket frame or an HTTP response. */
typedef struct msg { uint32_t refs, len; char data[]; } msg;

typedef struct conn { /* indexed by fd */
  uint32_t gen;       /* bumped on close: stale room entries and epoll events stop matching */
  uint8_t state, flags;
  uint16_t nrooms;
  uint32_t in_len;    /* bytes of a partial request or frame in `in` */
  uint32_t qhead, qlen, qcap, qoff; /* output q[qhead..qlen); qoff bytes of q[qhead] are sent */
  uint32_t backlog;   /* bytes queued, not yet written */
  char *in;
  msg **q;
  uint32_t *rooms;    /* indexes into rooms[] */
} conn;

typedef struct { uint32_t fd, gen; } member;
typedef struct { char *name; uint32_t name_len, hash, len, cap, stale; member *m; } room;
typedef struct { const char *p; size_t n; } span;
typedef struct { char *p; size_t n, cap; } buf;

static conn *conns;   /* one slot per possible fd, mapped lazily: untouched slots cost nothing */
static uint32_t nconns, max_fds; /* highest fd seen + 1; slots mapped */
static int *dirty;
static uint32_t ndirty, dirty_cap;
static room *rooms;
static uint32_t nrooms, rooms_cap;
static uint32_t *table, table_cap; /* open addressing: room index + 1, 0 = empty */
static char scratch[SCRATCH];
static buf tmp;
static uint64_t rng;
static volatile sig_atomic_t stop;

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n);
  if (!p && n) { perror("realloc"); exit(1); }
  return p;
}

static void put(buf *b, const void *s, size_t n) {
  if (b->n + n > b->cap) { b->cap = 2 * (b->n + n); b->p = xrealloc(b->p, b->cap); }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
#define PUTS(b, s) put(b, s, strlen(s))

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void make_id(char out[20]) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 20; i++) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    out[i] = abc[rng >> 58];
  }
}

/* ---- output: reference-counted messages, per-connection queues, corked flush ---- */

static msg *msg_new(size_t len) {
  msg *m = xrealloc(NULL, sizeof(msg) + len);
  m->refs = 1;
  m->len = (uint32_t)len;
  return m;
}

static void msg_unref(msg *m) {
  if (--m->refs == 0) free(m);
}

/* Writes a server (unmasked, FIN) frame header for `len` payload bytes; returns its size. */
static size_t ws_header(char *h, int opcode, size_t len) {
  h[0] = (char)(0x80 | opcode);
  if (len < 126) { h[1] = (char)len; return 2; }
  if (len < 65536) { h[1] = 126; h[2] = (char)(len >> 8); h[3] = (char)len; return 4; }
  h[1] = 127;
  for (int i = 0; i < 8; i++) h[2 + i] = (char)(len >> (56 - 8 * i));
  return 10;
}

static msg *ws_frame(int opcode, const char *p, size_t len) {
  char h[10];
  size_t hl = ws_header(h, opcode, len);
  msg *m = msg_new(hl + len);
  memcpy(m->data, h, hl);
  memcpy(m->data + hl, p, len);
  return m;
}

static void mark_dirty(int fd) {
  conn *c = &conns[fd];
  if (c->flags & F_DIRTY) return;
  c->flags |= F_DIRTY;
  if (ndirty == dirty_cap) {
    dirty_cap = dirty_cap ? 2 * dirty_cap : 1024;
    dirty = xrealloc(dirty, dirty_cap * sizeof *dirty);
  }
  dirty[ndirty++] = fd;
}

/* Queues a reference to `m`; false if the connection is (now) being dropped. */
static int enqueue(int fd, msg *m) {
  conn *c = &conns[fd];
  if (c->flags & (F_DROP | F_LINGER)) return 0;
  if (c->backlog + m->len > MAX_BACKLOG) { /* slow consumer: closed at the flush */
    c->flags |= F_DROP;
    mark_dirty(fd);
    return 0;
  }
  if (c->qlen == c->qcap) {
    if (c->qhead > 0) {
      memmove(c->q, c->q + c->qhead, (c->qlen - c->qhead) * sizeof *c->q);
      c->qlen -= c->qhead;
      c->qhead = 0;
    } else {
      c->qcap = c->qcap ? 2 * c->qcap : 4;
      c->q = xrealloc(c->q, c->qcap * sizeof *c->q);
    }
  }
  c->q[c->qlen++] = m;
  m->refs++;
  c->backlog += m->len;
  mark_dirty(fd);
  return 1;
}

static void send_msg(int fd, msg *m) { /* queues m and drops the caller's reference */
  enqueue(fd, m);
  msg_unref(m);
}

static void send_raw(int fd, const char *p, size_t len) {
  msg *m = msg_new(len);
  memcpy(m->data, p, len);
  send_msg(fd, m);
}

static void send_frame(int fd, int opcode, const char *p, size_t len) { send_msg(fd, ws_frame(opcode, p, len)); }

static void send_text(int fd, const char *p, size_t len) { send_frame(fd, 0x1, p, len); }

static void linger(int fd) { /* close once what is queued is written */
  conns[fd].flags |= F_LINGER;
  mark_dirty(fd);
}

/* ---- rooms: name -> array of (fd, gen); stale entries are skipped and compacted away ---- */

static uint32_t hash_name(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  while (n--) { h ^= (uint8_t)*s++; h *= 16777619u; }
  return h;
}

static void table_insert(uint32_t ri) {
  uint32_t i = rooms[ri].hash & (table_cap - 1);
  while (table[i]) i = (i + 1) & (table_cap - 1);
  table[i] = ri + 1;
}

/* The index of room `name`, created if `create`; UINT32_MAX if absent. */
static uint32_t room_index(const char *name, size_t len, int create) {
  uint32_t h = hash_name(name, len);
  for (uint32_t i = h & (table_cap - 1); table_cap && table[i]; i = (i + 1) & (table_cap - 1)) {
    room *r = &rooms[table[i] - 1];
    if (r->hash == h && r->name_len == len && !memcmp(r->name, name, len)) return table[i] - 1;
  }
  if (!create) return UINT32_MAX;
  if (nrooms == rooms_cap) {
    rooms_cap = rooms_cap ? 2 * rooms_cap : 256;
    rooms = xrealloc(rooms, rooms_cap * sizeof *rooms);
  }
  room *r = &rooms[nrooms];
  memset(r, 0, sizeof *r);
  r->name = xrealloc(NULL, len ? len : 1);
  memcpy(r->name, name, len);
  r->name_len = (uint32_t)len;
  r->hash = h;
  if (2 * (nrooms + 1) > table_cap) { /* grow and rehash */
    free(table);
    table_cap = table_cap ? 2 * table_cap : 1024;
    table = calloc(table_cap, sizeof *table);
    if (!table) { perror("calloc"); exit(1); }
    for (uint32_t i = 0; i < nrooms; i++) table_insert(i);
  }
  table_insert(nrooms);
  return nrooms++;
}

static void room_compact(room *r) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < r->len; i++)
    if (conns[r->m[i].fd].gen == r->m[i].gen) r->m[k++] = r->m[i];
  r->len = k;
  r->stale = 0;
}

static void join(int fd, const char *name, size_t len) {
  uint32_t ri = room_index(name, len, 1);
  conn *c = &conns[fd];
  for (uint16_t i = 0; i < c->nrooms; i++)
    if (c->rooms[i] == ri) return;
  if (c->nrooms == MAX_ROOMS_PER_CONN) return;
  c->rooms = xrealloc(c->rooms, (c->nrooms + 1) * sizeof *c->rooms);
  c->rooms[c->nrooms++] = ri;
  room *r = &rooms[ri];
  if (r->len == r->cap && r->stale) room_compact(r);
  if (r->len == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 4;
    r->m = xrealloc(r->m, r->cap * sizeof *r->m);
  }
  r->m[r->len++] = (member){(uint32_t)fd, c->gen};
}

/* Queues `m` to every live member of `r`, compacting as it goes; returns the count. */
static uint32_t deliver_room(room *r, msg *m) {
  uint32_t k = 0, n = 0;
  for (uint32_t i = 0; i < r->len; i++) {
    member e = r->m[i];
    if (conns[e.fd].gen != e.gen) continue;
    r->m[k++] = e;
    n += (uint32_t)enqueue((int)e.fd, m);
  }
  r->len = k;
  r->stale = 0;
  return n;
}

static void conn_close(int fd) {
  conn *c = &conns[fd];
  if (c->state == C_FREE) return;
  close(fd);
  c->gen++;
  for (uint32_t i = c->qhead; i < c->qlen; i++) msg_unref(c->q[i]);
  for (uint16_t i = 0; i < c->nrooms; i++) {
    room *r = &rooms[c->rooms[i]];
    if (++r->stale > 64 && 2 * r->stale > r->len) room_compact(r);
  }
  free(c->q);
  free(c->in);
  free(c->rooms);
  uint32_t gen = c->gen;
  memset(c, 0, sizeof *c); /* C_FREE */
  c->gen = gen;
}

/* Writes what `fd` has queued: one writev() unless the queue is long or the socket fills. */
static void flush(int fd) {
  conn *c = &conns[fd];
  c->flags &= ~F_DIRTY;
  if (c->state == C_FREE) return;
  if (c->flags & F_DROP) { conn_close(fd); return; }
  while (c->qhead < c->qlen) {
    struct iovec iov[IOV_BATCH];
    int k = 0;
    for (uint32_t i = c->qhead; i < c->qlen && k < IOV_BATCH; i++, k++) {
      iov[k].iov_base = c->q[i]->data;
      iov[k].iov_len = c->q[i]->len;
    }
    iov[0].iov_base = (char *)iov[0].iov_base + c->qoff;
    iov[0].iov_len -= c->qoff;
    ssize_t w = writev(fd, iov, k);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) conn_close(fd);
      return; /* EAGAIN: EPOLLOUT (edge-triggered) marks it dirty again */
    }
    c->backlog -= (uint32_t)w;
    while (w > 0) {
      msg *m = c->q[c->qhead];
      size_t rest = m->len - c->qoff;
      if ((size_t)w < rest) { c->qoff += (uint32_t)w; break; }
      w -= (ssize_t)rest;
      c->qoff = 0;
      c->qhead++;
      msg_unref(m);
    }
  }
  c->qhead = c->qlen = 0;
  if (c->qcap > 16) { free(c->q); c->q = NULL; c->qcap = 0; } /* keep small queues only */
  if (c->flags & F_LINGER) conn_close(fd);
}

/* ---- minimal JSON scanning ---- */

static const char *skip_ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static const char *skip_string(const char *p, const char *e) { /* p at '"' */
  for (p++; p < e; p++) {
    if (*p == '\\') p++;
    else if (*p == '"') return p + 1;
  }
  return NULL;
}

/* Past any JSON value, loosely: strings and brackets are matched, literals run to a delimiter. */
static const char *skip_value(const char *p, const char *e) {
  if (p >= e) return NULL;
  if (*p == '"') return skip_string(p, e);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p < e) {
      if (*p == '"') {
        if (!(p = skip_string(p, e))) return NULL;
        continue;
      }
      if (*p == '{' || *p == '[') depth++;
      else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
      p++;
    }
    return NULL;
  }
  const char *s = p;
  while (p < e && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) p++;
  return p > s ? p : NULL;
}

/* {"room":"r","event":"e","data":...}: string values without their quotes, data raw. */
static int parse_emit(const char *p, const char *e, span *rm, span *ev, span *data) {
  p = skip_ws(p, e);
  if (p >= e || *p != '{') return -1;
  p = skip_ws(p + 1, e);
  while (p < e && *p != '}') {
    if (*p != '"') return -1;
    const char *k = p + 1, *ke = skip_string(p, e);
    if (!ke) return -1;
    size_t kn = (size_t)(ke - 1 - k);
    p = skip_ws(ke, e);
    if (p >= e || *p != ':') return -1;
    const char *v = skip_ws(p + 1, e), *ve = skip_value(v, e);
    if (!ve) return -1;
    span s = {v, (size_t)(ve - v)}, inner = {v + 1, s.n - 2};
    if (kn == 4 && !memcmp(k, "room", 4)) {
      if (*v == '"') *rm = inner;
      else if (!(s.n == 4 && !memcmp(v, "null", 4))) return -1;
    } else if (kn == 5 && !memcmp(k, "event", 5)) {
      if (*v != '"' || s.n < 3) return -1;
      *ev = inner;
    } else if (kn == 4 && !memcmp(k, "data", 4)) {
      *data = s;
    }
    p = skip_ws(ve, e);
    if (p < e && *p == ',') p = skip_ws(p + 1, e);
    else if (p >= e || *p != '}') return -1;
  }
  if (p >= e || skip_ws(p + 1, e) != e) return -1;
  return ev->p ? 0 : -1;
}

/* ---- HTTP ---- */

static void http_reply(int fd, int status, const char *reason, const char *body, size_t blen,
                       int close_after) {
  char head[200];
  tmp.n = 0;
  put(&tmp, head, (size_t)snprintf(head, sizeof head,
      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
      status, reason, blen, close_after ? "Connection: close\r\n" : ""));
  put(&tmp, body, blen);
  send_raw(fd, tmp.p, tmp.n);
  if (close_after) linger(fd);
}

static void on_emit(int fd, const char *body, size_t n) {
  span rm = {0}, ev = {0}, data = {0};
  if (parse_emit(body, body + n, &rm, &ev, &data) < 0) {
    static const char bad[] = "{\"error\":\"expected {\\\"room\\\":..,\\\"event\\\":..,\\\"data\\\":..}\"}";
    http_reply(fd, 400, "Bad Request", bad, sizeof bad - 1, 0);
    return;
  }
  /* 42["event",data] or 42["event"], framed once, shared by every recipient */
  size_t plen = data.p ? 7 + ev.n + data.n : 6 + ev.n;
  char h[10];
  size_t hl = ws_header(h, 0x1, plen);
  msg *m = msg_new(hl + plen);
  char *w = m->data;
  memcpy(w, h, hl), w += hl;
  memcpy(w, "42[\"", 4), w += 4;
  memcpy(w, ev.p, ev.n), w += ev.n;
  if (data.p) {
    memcpy(w, "\",", 2), w += 2;
    memcpy(w, data.p, data.n), w += data.n;
    *w = ']';
  } else {
    memcpy(w, "\"]", 2);
  }
  uint32_t count = 0;
  if (rm.p) {
    uint32_t ri = room_index(rm.p, rm.n, 0);
    if (ri != UINT32_MAX) count = deliver_room(&rooms[ri], m);
  } else {
    for (uint32_t i = 0; i < nconns; i++)
      if (conns[i].state == C_SIO) count += (uint32_t)enqueue((int)i, m);
  }
  msg_unref(m);
  char resp[48];
  int rn = snprintf(resp, sizeof resp, "{\"recipients\":\"%u\"}", count);
  http_reply(fd, 200, "OK", resp, (size_t)rn, 0);
}

static int header_is(const char *k, size_t kn, const char *name) {
  return kn == strlen(name) && !strncasecmp(k, name, kn);
}

static int has_token(const char *v, size_t n, const char *tok) { /* case-insensitive substring */
  size_t tn = strlen(tok);
  for (size_t i = 0; i + tn <= n; i++)
    if (!strncasecmp(v + i, tok, tn)) return 1;
  return 0;
}

static void upgrade(int fd, const char *key, size_t key_len) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char in[128], digest[SHA_DIGEST_LENGTH], accept[32];
  memcpy(in, key, key_len);
  memcpy(in + key_len, guid, sizeof guid - 1);
  SHA1(in, key_len + sizeof guid - 1, digest);
  EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
  char out[512];
  int n = snprintf(out, sizeof out,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  send_raw(fd, out, (size_t)n);
  char sid[20];
  make_id(sid);
  n = snprintf(out, sizeof out,
               "0{\"sid\":\"%.20s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":20000,"
               "\"maxPayload\":%d}",
               sid, PING_MS, MAX_PAYLOAD);
  send_text(fd, out, (size_t)n);
  conns[fd].state = C_EIO;
}

/* One request from p[0..n): bytes consumed, 0 if incomplete, -1 to close. */
static long on_http(int fd, char *p, size_t n) {
  char *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) return n > MAX_HEADER ? -1 : 0;
  size_t hlen = (size_t)(end + 4 - p);
  char *sp1 = memchr(p, ' ', hlen), *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
  if (!sp2) {
    static const char bad[] = "{\"error\":\"bad request\"}";
    http_reply(fd, 400, "Bad Request", bad, sizeof bad - 1, 1);
    return (long)n;
  }
  span method = {p, (size_t)(sp1 - p)}, target = {sp1 + 1, (size_t)(sp2 - sp1 - 1)};
  int close_after = end - sp2 > 8 && !memcmp(sp2 + 1, "HTTP/1.0", 8), upgrade_ws = 0, chunked = 0, expect = 0;
  const char *key = NULL;
  size_t key_len = 0, content_length = 0;
  for (char *line = (char *)memchr(p, '\n', hlen) + 1; line < end + 2;) {
    char *eol = memchr(line, '\n', (size_t)(end + 4 - line)), *colon = memchr(line, ':', (size_t)(eol - line));
    if (colon) {
      const char *v = colon + 1, *ve = eol;
      size_t kn = (size_t)(colon - line);
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      size_t vn = (size_t)(ve - v);
      if (header_is(line, kn, "sec-websocket-key")) key = v, key_len = vn;
      else if (header_is(line, kn, "upgrade")) upgrade_ws = has_token(v, vn, "websocket");
      else if (header_is(line, kn, "transfer-encoding")) chunked = 1;
      else if (header_is(line, kn, "expect")) expect = has_token(v, vn, "100-continue");
      else if (header_is(line, kn, "connection"))
        close_after = close_after ? !has_token(v, vn, "keep-alive") : has_token(v, vn, "close");
      else if (header_is(line, kn, "content-length")) {
        char *num_end;
        content_length = strtoul(v, &num_end, 10);
        if (num_end != ve || vn == 0) content_length = SIZE_MAX;
      }
    }
    line = eol + 1;
  }
  int is_get = method.n == 3 && !memcmp(method.p, "GET", 3);
  if (is_get && target.n >= 11 && !memcmp(target.p, "/socket.io/", 11)) {
    if (upgrade_ws && key && key_len <= 64 && memmem(target.p, target.n, "EIO=4", 5) &&
        memmem(target.p, target.n, "transport=websocket", 19)) {
      upgrade(fd, key, key_len);
    } else {
      static const char bad[] = "{\"code\":0,\"message\":\"Transport unknown\"}";
      http_reply(fd, 400, "Bad Request", bad, sizeof bad - 1, close_after);
    }
    return (long)hlen;
  }
  int is_emit = method.n == 4 && !memcmp(method.p, "POST", 4) && target.n >= 16 &&
                !memcmp(target.p, "/api/socket/emit", 16) && (target.n == 16 || target.p[16] == '?');
  if (is_emit && (chunked || content_length > MAX_PAYLOAD)) {
    static const char bad[] = "{\"error\":\"need a Content-Length body of at most 1000000 bytes\"}";
    http_reply(fd, 400, "Bad Request", bad, sizeof bad - 1, 1);
    return (long)n;
  }
  if (is_emit) {
    if (n - hlen < content_length) { /* the body is not all here yet */
      if (expect && !(conns[fd].flags & F_CONTINUED)) {
        send_raw(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        conns[fd].flags |= F_CONTINUED;
      }
      return 0;
    }
    conns[fd].flags &= ~F_CONTINUED;
    on_emit(fd, p + hlen, content_length);
    if (close_after) linger(fd);
    return (long)(hlen + content_length);
  }
  static const char nf[] = "{\"error\":\"not found\"}";
  http_reply(fd, 404, "Not Found", nf, sizeof nf - 1, close_after || content_length);
  return (long)hlen;
}

/* ---- Engine.IO / Socket.IO over WebSocket ---- */

static const char *join_one(int fd, const char *p, const char *e) { /* p at '"' */
  const char *q = skip_string(p, e);
  if (!q || q - p < 3 || q - p > 258) return NULL;
  join(fd, p + 1, (size_t)(q - p - 2));
  return q;
}

/* 2<ack>["join","room"] or 2<ack>["join",["a","b"]]; other events are ignored. */
static void on_event(int fd, const char *p, size_t n) {
  const char *e = p + n, *ack = p;
  if (p < e && *p == '/') return; /* another namespace */
  while (p < e && isdigit((unsigned char)*p)) p++;
  size_t ack_n = (size_t)(p - ack);
  if (p >= e || *p != '[') return;
  p = skip_ws(p + 1, e);
  if (e - p < 6 || memcmp(p, "\"join\"", 6)) return;
  p = skip_ws(p + 6, e);
  int ok = 0;
  if (p < e && *p == ',') {
    p = skip_ws(p + 1, e);
    if (p < e && *p == '"') {
      ok = join_one(fd, p, e) != NULL;
    } else if (p < e && *p == '[') {
      for (ok = 1, p = skip_ws(p + 1, e); ok && p < e && *p != ']';) {
        ok = *p == '"' && (p = join_one(fd, p, e)) != NULL;
        if (ok) p = skip_ws(p, e);
        if (ok && p < e && *p == ',') p = skip_ws(p + 1, e);
      }
    }
  }
  if (!ack_n || ack_n > 20) return;
  tmp.n = 0;
  PUTS(&tmp, "43");
  put(&tmp, ack, ack_n);
  if (!ok) {
    PUTS(&tmp, "[{\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"join needs rooms\"}}]");
  } else {
    PUTS(&tmp, "[{\"ok\":true,\"rooms\":[");
    conn *c = &conns[fd];
    for (uint16_t i = 0; i < c->nrooms; i++) {
      room *r = &rooms[c->rooms[i]];
      PUTS(&tmp, i ? ",\"" : "\"");
      put(&tmp, r->name, r->name_len);
      PUTS(&tmp, "\"");
    }
    PUTS(&tmp, "]}]");
  }
  send_text(fd, tmp.p, tmp.n);
}

static void on_socketio(int fd, char *p, size_t n) {
  conn *c = &conns[fd];
  if (n == 0) return;
  if (p[0] == '0') {        /* CONNECT */
    if (n > 1 && p[1] == '/') { /* only "/" exists */
      char *comma = memchr(p, ',', n);
      tmp.n = 0;
      PUTS(&tmp, "44");
      put(&tmp, p + 1, comma ? (size_t)(comma - p) : n - 1);
      PUTS(&tmp, comma ? "" : ",");
      PUTS(&tmp, "{\"message\":\"Invalid namespace\"}");
      send_text(fd, tmp.p, tmp.n);
      return;
    }
    char out[40] = "40{\"sid\":\"";
    make_id(out + 10);
    memcpy(out + 30, "\"}", 2);
    send_text(fd, out, 32);
    c->state = C_SIO;
  } else if (p[0] == '1') { /* DISCONNECT */
    linger(fd);
  } else if (p[0] == '2' && c->state == C_SIO) {
    on_event(fd, p + 1, n - 1);
  }
}

static void on_engineio(int fd, char *p, size_t n) {
  if (n == 0) return;
  switch (p[0]) {
    case '1': linger(fd); break;                            /* close */
    case '2': p[0] = '3'; send_text(fd, p, n); break;       /* ping -> pong */
    case '4': on_socketio(fd, p + 1, n - 1); break;         /* message */
    default: break;                                         /* '3' pong and the rest */
  }
}

/* Complete client frames in p[0..n): bytes consumed, -1 to close. */
static long on_ws(int fd, char *p, size_t n) {
  size_t used = 0;
  while (!(conns[fd].flags & (F_LINGER | F_DROP)) && n - used >= 2) {
    unsigned char *f = (unsigned char *)p + used;
    size_t avail = n - used, hl = 2;
    uint64_t len = f[1] & 0x7f;
    if (!(f[1] & 0x80)) return -1; /* clients must mask */
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t)f[2] << 8 | f[3], hl = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i];
      hl = 10;
    }
    if (len > MAX_PAYLOAD) return -1;
    if (avail < hl + 4 + len) break;
    unsigned char *mask = f + hl;
    char *payload = (char *)f + hl + 4;
    for (size_t i = 0; i < len; i++) payload[i] ^= (char)mask[i & 3];
    used += hl + 4 + len;
    int opcode = f[0] & 0x0f;
    if (!(f[0] & 0x80) || opcode == 0) return -1; /* fragmented: not supported */
    if (opcode == 0x1) on_engineio(fd, payload, len);
    else if (opcode == 0x8) { send_frame(fd, 0x8, "", 0); linger(fd); }
    else if (opcode == 0x9) send_frame(fd, 0xA, payload, len);
  }
  return (long)used;
}

static void on_readable(int fd) {
  conn *c = &conns[fd];
  for (;;) {
    ssize_t r = read(fd, scratch, SCRATCH);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) { conn_close(fd); return; }
    if (!(c->flags & (F_LINGER | F_DROP))) {
      char *p = scratch;
      size_t n = (size_t)r, used = 0;
      if (c->in_len) { /* append to the partial request or frame */
        c->in = xrealloc(c->in, c->in_len + n);
        memcpy(c->in + c->in_len, scratch, n);
        p = c->in;
        n += c->in_len;
      }
      while (used < n && !(c->flags & (F_LINGER | F_DROP))) {
        long k = c->state == C_HTTP ? on_http(fd, p + used, n - used) : on_ws(fd, p + used, n - used);
        if (k < 0) { conn_close(fd); return; }
        if (k == 0) break;
        used += (size_t)k;
      }
      size_t left = n - used;
      if (left > MAX_PARTIAL) { conn_close(fd); return; }
      if (left == 0) {
        free(c->in);
        c->in = NULL;
      } else if (p == c->in) {
        memmove(c->in, c->in + used, left);
      } else {
        c->in = xrealloc(NULL, left);
        memcpy(c->in, p + used, left);
      }
      c->in_len = (uint32_t)left;
    }
    if (r < SCRATCH) return; /* drained: edge-triggered epoll reports new data */
  }
}

/* ---- accept, pings, the loop ---- */

static int spare_fd = -1; /* given up on EMFILE to accept and shed a connection */

static void on_accept(int lfd, int ep) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
        close(spare_fd);
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0) close(fd);
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) continue;
      }
      return;
    }
    if ((uint32_t)fd >= max_fds) { close(fd); continue; }
    if ((uint32_t)fd >= nconns) nconns = (uint32_t)fd + 1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns[fd].state = C_HTTP;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)conns[fd].gen << 32 | (uint32_t)fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) conn_close(fd);
  }
}

static void ping_all(void) {
  msg *m = ws_frame(0x1, "2", 1);
  for (uint32_t i = 0; i < nconns; i++)
    if (conns[i].state >= C_EIO) enqueue((int)i, m);
  msg_unref(m);
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--port=", 7)) port = atoi(argv[i] + 7);
    else if (!strncmp(argv[i], "--host=", 7)) host = argv[i] + 7;
    else { fprintf(stderr, "usage: %s --port=P [--host=127.0.0.1]\n", argv[0]); return 2; }
  }
  if (port <= 0 || port > 65535) { fprintf(stderr, "--port=P is required\n"); return 2; }

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) perror("setrlimit(RLIMIT_NOFILE)");
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  max_fds = rl.rlim_cur < (1u << 24) ? (uint32_t)rl.rlim_cur : (1u << 24);
  conns = mmap(NULL, (size_t)max_fds * sizeof *conns, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (conns == MAP_FAILED) { perror("mmap"); return 1; }
  if (getrandom(&rng, sizeof rng, 0) != sizeof rng || rng == 0) rng = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) | 1;

  /* SIGTERM/SIGINT are blocked except inside epoll_pwait, so none is missed between checks. */
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "--host: not an IPv4 address: %s\n", host);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.u64 = LISTENER};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  printf("listening %d\n", port);
  fflush(stdout);

  struct epoll_event events[512];
  int64_t next_ping = now_ms() + PING_MS;
  while (!stop) {
    int64_t wait = next_ping - now_ms();
    int n = epoll_pwait(ep, events, 512, wait > 0 ? (int)wait : 0, &wait_mask);
    if (n < 0 && errno != EINTR) { perror("epoll_pwait"); return 1; }
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == LISTENER) { on_accept(lfd, ep); continue; }
      int fd = (int)(uint32_t)events[i].data.u64;
      conn *c = &conns[fd];
      if (c->state == C_FREE || c->gen != (uint32_t)(events[i].data.u64 >> 32)) continue;
      if ((events[i].events & EPOLLOUT) && c->qhead < c->qlen) mark_dirty(fd);
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) on_readable(fd);
    }
    if (now_ms() >= next_ping) {
      ping_all();
      next_ping = now_ms() + PING_MS;
    }
    for (uint32_t i = 0; i < ndirty; i++) flush(dirty[i]);
    ndirty = 0;
  }
  return 0;
}
