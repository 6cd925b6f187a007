/*
 * libi2c-emulator.so: an emulated /dev/i2c-N for one process, loaded with LD_PRELOAD
 * (docs/i2c-emulator.md). Opening the device node connects a Unix socket to the emulator
 * server ($HALPI2_I2C_EMULATOR); read/write and the i2c-dev ioctls on that descriptor become
 * bus transfers sent over it, answered by the simulated controller. The kernel's rules are kept
 * where a program could notice them: I2C_SMBUS is emulated as the I2C messages the kernel would
 * send (i2c_smbus_xfer_emulated), lengths are checked and capped the same way, and a failed
 * transfer sets the errno the kernel would (EREMOTEIO for a NACK, ETIMEDOUT for a timeout).
 *
 * Every other path and descriptor passes straight through to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_MSG 8192 /* i2c-dev caps read()/write() here and refuses longer I2C_RDWR messages */
#define MAX_MSGS 42  /* I2C_RDWR_IOCTL_MAX_MSGS */

/* How the transfer reached the bus, for the transcript. */
enum via { VIA_WRITE = 1, VIA_READ = 2, VIA_RDWR = 3, VIA_SMBUS = 4 };

/* Adapter functionality reported by I2C_FUNCS: the Synopsys DesignWare controller of the
 * Raspberry Pi 5 / CM5 (RP1) as i2c-designware reports it. */
#define DEFAULT_FUNCS (I2C_FUNC_I2C | I2C_FUNC_SMBUS_BYTE | I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA | \
                       I2C_FUNC_SMBUS_BLOCK_DATA | I2C_FUNC_SMBUS_I2C_BLOCK)

struct emu_fd {
  int used;
  dev_t dev;
  ino_t ino;
  unsigned addr;
  int tenbit;
  pthread_mutex_t lock; /* one request at a time per descriptor: the framing must not interleave */
};

static struct emu_fd fds[MAX_FDS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

#define REAL(name) static __typeof__(name) *real_##name
REAL(open);
REAL(open64);
REAL(openat);
REAL(openat64);
REAL(close);
REAL(read);
REAL(write);
REAL(pread);
REAL(pread64);
REAL(pwrite);
REAL(pwrite64);
REAL(readv);
REAL(writev);
REAL(ioctl);
REAL(access);
REAL(faccessat);

static void *resolve(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    fprintf(stderr, "i2c-emulator: libc has no %s\n", name);
    abort();
  }
  return f;
}
static void *load(void **slot, const char *name) {
  void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (!f) {
    f = resolve(name);
    __atomic_store_n(slot, f, __ATOMIC_RELEASE);
  }
  return f;
}
#define LOAD(name) ((__typeof__(real_##name))load((void **)&real_##name, #name))

/* The emulated device node's path, or NULL when emulation is off. */
static const char *device_path(void) {
  static char path[32];
  static int ready;
  if (!ready) {
    const char *bus = getenv("HALPI2_I2C_EMULATOR_BUS");
    snprintf(path, sizeof path, "/dev/i2c-%s", bus && *bus ? bus : "1");
    ready = 1;
  }
  const char *sock = getenv("HALPI2_I2C_EMULATOR");
  return sock && *sock ? path : NULL;
}

static int is_device(const char *p) {
  const char *dev = device_path();
  return p && dev && strcmp(p, dev) == 0;
}

/* The table entry for an emulated descriptor, or NULL. A descriptor closed behind our back
 * (libuv closes with a raw syscall) and reused for something else no longer matches its inode. */
static struct emu_fd *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FDS || !__atomic_load_n(&fds[fd].used, __ATOMIC_ACQUIRE)) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != fds[fd].ino || st.st_dev != fds[fd].dev) {
    __atomic_store_n(&fds[fd].used, 0, __ATOMIC_RELEASE);
    return NULL;
  }
  return &fds[fd];
}

static int send_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int recv_all(int fd, void *buf, size_t len) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void put16(uint8_t *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/*
 * One exchange with the server. Request: u32 body length, then the body. Answer: u32 length,
 * i32 errno (0 = done), then the bytes read. Returns 0, or -1 with errno set; a server that is
 * gone is an I/O error, as a bus whose controller vanished.
 */
static int exchange(int fd, const uint8_t *body, size_t len, uint8_t *in, size_t in_len) {
  uint8_t head[8];
  put32(head, (uint32_t)len);
  if (send_all(fd, head, 4) || send_all(fd, body, len) || recv_all(fd, head, 8)) {
    errno = EIO;
    return -1;
  }
  uint32_t rlen = get32(head);
  int32_t err = (int32_t)get32(head + 4);
  if (rlen < 4 || rlen - 4 > in_len + 0u) {
    errno = EIO;
    return -1;
  }
  if (rlen > 4 && recv_all(fd, in, rlen - 4)) {
    errno = EIO;
    return -1;
  }
  if (err != 0) {
    errno = err;
    return -1;
  }
  return 0;
}

/*
 * One bus transfer: messages as in I2C_RDWR (a write without STOP followed by a read is a
 * repeated start). Read data is stored into the messages' buffers.
 */
static int transfer(struct emu_fd *e, int fd, enum via via, struct i2c_msg *msgs, unsigned n) {
  size_t size = 3, in_size = 0;
  for (unsigned i = 0; i < n; i++) {
    size += 6;
    if (msgs[i].flags & I2C_M_RD) in_size += msgs[i].len;
    else size += msgs[i].len;
  }
  uint8_t *body = malloc(size), *in = malloc(in_size + 1);
  if (!body || !in) {
    free(body);
    free(in);
    errno = ENOMEM;
    return -1;
  }
  body[0] = 'T';
  body[1] = (uint8_t)via;
  body[2] = (uint8_t)n;
  uint8_t *p = body + 3;
  for (unsigned i = 0; i < n; i++) {
    put16(p, msgs[i].addr);
    put16(p + 2, msgs[i].flags);
    put16(p + 4, msgs[i].len);
    p += 6;
    if (!(msgs[i].flags & I2C_M_RD)) {
      if (msgs[i].len) memcpy(p, msgs[i].buf, msgs[i].len);
      p += msgs[i].len;
    }
  }
  pthread_mutex_lock(&e->lock);
  int r = exchange(fd, body, size, in, in_size);
  pthread_mutex_unlock(&e->lock);
  int saved = errno;
  if (r == 0) {
    const uint8_t *q = in;
    for (unsigned i = 0; i < n; i++) {
      if (!(msgs[i].flags & I2C_M_RD)) continue;
      if (msgs[i].len) memcpy(msgs[i].buf, q, msgs[i].len);
      q += msgs[i].len;
    }
  }
  free(body);
  free(in);
  errno = saved;
  return r;
}

static unsigned msg_flags(struct emu_fd *e) { return e->tenbit ? I2C_M_TEN : 0; }

static ssize_t emu_write(struct emu_fd *e, int fd, const void *buf, size_t count) {
  if (count > MAX_MSG) count = MAX_MSG;
  struct i2c_msg m = { .addr = (uint16_t)e->addr, .flags = (uint16_t)msg_flags(e), .len = (uint16_t)count, .buf = (uint8_t *)buf };
  return transfer(e, fd, VIA_WRITE, &m, 1) ? -1 : (ssize_t)count;
}

static ssize_t emu_read(struct emu_fd *e, int fd, void *buf, size_t count) {
  if (count > MAX_MSG) count = MAX_MSG;
  struct i2c_msg m = { .addr = (uint16_t)e->addr, .flags = (uint16_t)(msg_flags(e) | I2C_M_RD), .len = (uint16_t)count, .buf = buf };
  return transfer(e, fd, VIA_READ, &m, 1) ? -1 : (ssize_t)count;
}

/* I2C_SMBUS as the kernel emulates it on a plain I2C adapter (drivers/i2c/i2c-core-smbus.c). */
static int emu_smbus(struct emu_fd *e, int fd, struct i2c_smbus_ioctl_data *a) {
  if (!a) {
    errno = EFAULT;
    return -1;
  }
  int rd = a->read_write == I2C_SMBUS_READ;
  if (a->read_write != I2C_SMBUS_READ && a->read_write != I2C_SMBUS_WRITE) {
    errno = EINVAL;
    return -1;
  }
  union i2c_smbus_data *d = a->data;
  uint32_t size = a->size;
  if (size != I2C_SMBUS_QUICK && !(size == I2C_SMBUS_BYTE && !rd) && !d) {
    errno = EINVAL;
    return -1;
  }
  uint8_t out[I2C_SMBUS_BLOCK_MAX + 3], in[I2C_SMBUS_BLOCK_MAX + 2];
  struct i2c_msg m[2] = {
    { .addr = (uint16_t)e->addr, .flags = (uint16_t)msg_flags(e), .len = 1, .buf = out },
    { .addr = (uint16_t)e->addr, .flags = (uint16_t)(msg_flags(e) | I2C_M_RD), .len = 0, .buf = in },
  };
  unsigned n = rd ? 2 : 1;
  out[0] = a->command;
  switch (size) {
  case I2C_SMBUS_QUICK:
    m[0].len = 0;
    m[0].flags |= rd ? I2C_M_RD : 0;
    n = 1;
    break;
  case I2C_SMBUS_BYTE:
    if (rd) {
      m[0].flags |= I2C_M_RD; /* a single read message */
      m[0].buf = in;
      n = 1;
    }
    break;
  case I2C_SMBUS_BYTE_DATA:
    if (rd) m[1].len = 1;
    else { m[0].len = 2; out[1] = d->byte; }
    break;
  case I2C_SMBUS_WORD_DATA:
    if (rd) m[1].len = 2;
    else { m[0].len = 3; out[1] = d->word & 0xff; out[2] = d->word >> 8; }
    break;
  case I2C_SMBUS_PROC_CALL:
    n = 2;
    m[0].len = 3;
    out[1] = d->word & 0xff;
    out[2] = d->word >> 8;
    m[1].len = 2;
    break;
  case I2C_SMBUS_BLOCK_DATA:
    if (rd) { errno = EOPNOTSUPP; return -1; } /* needs I2C_M_RECV_LEN, which we do not emulate */
    if (d->block[0] > I2C_SMBUS_BLOCK_MAX || d->block[0] == 0) { errno = EINVAL; return -1; }
    m[0].len = d->block[0] + 2;
    memcpy(out + 1, d->block, d->block[0] + 1);
    break;
  case I2C_SMBUS_I2C_BLOCK_BROKEN:
  case I2C_SMBUS_I2C_BLOCK_DATA:
    if (size == I2C_SMBUS_I2C_BLOCK_BROKEN && rd) d->block[0] = I2C_SMBUS_BLOCK_MAX;
    if (d->block[0] > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
    if (rd) m[1].len = d->block[0];
    else { m[0].len = d->block[0] + 1; memcpy(out + 1, d->block + 1, d->block[0]); }
    break;
  default:
    errno = EOPNOTSUPP;
    return -1;
  }
  if (transfer(e, fd, VIA_SMBUS, m, n)) return -1;
  if (!rd) return 0;
  switch (size) {
  case I2C_SMBUS_BYTE: d->byte = in[0]; break;
  case I2C_SMBUS_BYTE_DATA: d->byte = in[0]; break;
  case I2C_SMBUS_WORD_DATA:
  case I2C_SMBUS_PROC_CALL: d->word = (uint16_t)(in[0] | in[1] << 8); break;
  case I2C_SMBUS_I2C_BLOCK_BROKEN:
  case I2C_SMBUS_I2C_BLOCK_DATA: memcpy(d->block + 1, in, d->block[0]); break;
  default: break;
  }
  return 0;
}

static int emu_rdwr(struct emu_fd *e, int fd, struct i2c_rdwr_ioctl_data *a) {
  if (!a || !a->msgs) { errno = EFAULT; return -1; }
  if (a->nmsgs > MAX_MSGS || a->nmsgs == 0) { errno = EINVAL; return -1; }
  for (unsigned i = 0; i < a->nmsgs; i++) {
    if (a->msgs[i].len > MAX_MSG || (a->msgs[i].flags & I2C_M_RECV_LEN)) { errno = EINVAL; return -1; }
  }
  if (transfer(e, fd, VIA_RDWR, a->msgs, a->nmsgs)) return -1;
  return (int)a->nmsgs; /* the kernel returns the number of messages transferred */
}

static int emu_ioctl(struct emu_fd *e, int fd, unsigned long req, unsigned long arg) {
  switch (req) {
  case I2C_SLAVE:
  case I2C_SLAVE_FORCE:
    if (arg > (e->tenbit ? 0x3ffUL : 0x7fUL)) { errno = EINVAL; return -1; }
    e->addr = (unsigned)arg;
    return 0;
  case I2C_TENBIT:
    e->tenbit = arg != 0;
    return 0;
  case I2C_RETRIES:
  case I2C_TIMEOUT:
  case I2C_PEC:
    return 0;
  case I2C_FUNCS: {
    const char *f = getenv("HALPI2_I2C_EMULATOR_FUNCS"); /* for tests of adapters that lack a feature */
    *(unsigned long *)arg = f && *f ? strtoul(f, NULL, 0) : DEFAULT_FUNCS;
    return 0;
  }
  case I2C_RDWR:
    return emu_rdwr(e, fd, (struct i2c_rdwr_ioctl_data *)arg);
  case I2C_SMBUS:
    return emu_smbus(e, fd, (struct i2c_smbus_ioctl_data *)arg);
  default:
    errno = ENOTTY;
    return -1;
  }
}

/* Open the emulated node: a socket to the server, greeted with the bus number. */
static int emu_open(int flags) {
  const char *sock = getenv("HALPI2_I2C_EMULATOR");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen(sock) >= sizeof sa.sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(sa.sun_path, sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
  if (fd < 0) return -1;
  if (fd >= MAX_FDS) { LOAD(close)(fd); errno = EMFILE; return -1; }
  const char *bus = getenv("HALPI2_I2C_EMULATOR_BUS");
  uint8_t hello[2] = { 'H', (uint8_t)atoi(bus && *bus ? bus : "1") }, answer[1];
  struct stat st;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || exchange(fd, hello, 2, answer, 0) != 0 || fstat(fd, &st) != 0) {
    LOAD(close)(fd);
    errno = ENODEV; /* no adapter behind the node */
    return -1;
  }
  pthread_mutex_lock(&table_lock);
  struct emu_fd *e = &fds[fd];
  if (!e->used) {
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_init(&e->lock, NULL);
  }
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->addr = 0;
  e->tenbit = 0;
  __atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&table_lock);
  return fd;
}

static int mode_of(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  if (is_device(path)) return emu_open(flags);
  return LOAD(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  if (is_device(path)) return emu_open(flags);
  return LOAD(open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  if (is_device(path)) return emu_open(flags);
  return LOAD(openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  if (is_device(path)) return emu_open(flags);
  return LOAD(openat64)(dirfd, path, flags, mode);
}

/* The fortified variants (_FORTIFY_SOURCE) take no mode. */
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat64(dirfd, path, flags); }

int access(const char *path, int mode) {
  if (is_device(path)) return (mode & X_OK) ? (errno = EACCES, -1) : 0;
  return LOAD(access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
  if (is_device(path)) return (mode & X_OK) ? (errno = EACCES, -1) : 0;
  return LOAD(faccessat)(dirfd, path, mode, flags);
}

int close(int fd) {
  if (fd >= 0 && fd < MAX_FDS) __atomic_store_n(&fds[fd].used, 0, __ATOMIC_RELEASE);
  return LOAD(close)(fd);
}

ssize_t read(int fd, void *buf, size_t count) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_read(e, fd, buf, count) : LOAD(read)(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_write(e, fd, buf, count) : LOAD(write)(fd, buf, count);
}

/* i2c-dev ignores the file position: node's fs.write(fd, buf, 0, n, 0) is a pwrite at 0. */
ssize_t pread(int fd, void *buf, size_t count, off_t off) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_read(e, fd, buf, count) : LOAD(pread)(fd, buf, count, off);
}

ssize_t pread64(int fd, void *buf, size_t count, off64_t off) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_read(e, fd, buf, count) : LOAD(pread64)(fd, buf, count, off);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_write(e, fd, buf, count) : LOAD(pwrite)(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off) {
  struct emu_fd *e = lookup(fd);
  return e ? emu_write(e, fd, buf, count) : LOAD(pwrite64)(fd, buf, count, off);
}

/* i2c-dev has no read_iter/write_iter, so the kernel runs a vectored call as one read() or
 * write() per piece: one transfer each. */
ssize_t writev(int fd, const struct iovec *iov, int n) {
  struct emu_fd *e = lookup(fd);
  if (!e) return LOAD(writev)(fd, iov, n);
  ssize_t total = 0;
  for (int i = 0; i < n; i++) {
    ssize_t r = emu_write(e, fd, iov[i].iov_base, iov[i].iov_len);
    if (r < 0) return total > 0 ? total : -1;
    total += r;
    if ((size_t)r < iov[i].iov_len) break;
  }
  return total;
}

ssize_t readv(int fd, const struct iovec *iov, int n) {
  struct emu_fd *e = lookup(fd);
  if (!e) return LOAD(readv)(fd, iov, n);
  ssize_t total = 0;
  for (int i = 0; i < n; i++) {
    ssize_t r = emu_read(e, fd, iov[i].iov_base, iov[i].iov_len);
    if (r < 0) return total > 0 ? total : -1;
    total += r;
    if ((size_t)r < iov[i].iov_len) break;
  }
  return total;
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  struct emu_fd *e = lookup(fd);
  return e ? emu_ioctl(e, fd, req, arg) : LOAD(ioctl)(fd, req, arg);
}
