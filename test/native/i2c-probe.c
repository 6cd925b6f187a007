/* The emulated /dev/i2c-1 at the system-call level (test/native/i2c-emulator.test.ts): each step
 * prints "name rc errno-name hex-of-data-read". Built and run with the emulator preloaded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *name(int e) {
  switch (e) {
  case 0: return "0";
  case EINVAL: return "EINVAL";
  case ENOTTY: return "ENOTTY";
  case EREMOTEIO: return "EREMOTEIO";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EIO: return "EIO";
  case ENODEV: return "ENODEV";
  case ENOENT: return "ENOENT";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  default: return strerror(e);
  }
}

static void report(const char *step, long rc, const unsigned char *data, int n) {
  printf("%s %ld %s ", step, rc, rc < 0 ? name(errno) : "0");
  for (int i = 0; i < n; i++) printf("%02x", data[i]);
  printf("\n");
  fflush(stdout);
}

int main(void) {
  unsigned char buf[9000], rd[64];
  int fd = open("/dev/i2c-1", O_RDWR);
  report("open", fd, NULL, 0);
  if (fd < 0) return 1;
  report("access", access("/dev/i2c-1", R_OK | W_OK), NULL, 0);
  report("slave-too-high", ioctl(fd, I2C_SLAVE, 0x80), NULL, 0);
  report("slave", ioctl(fd, I2C_SLAVE, 0x6d), NULL, 0);
  report("slave-force", ioctl(fd, I2C_SLAVE_FORCE, 0x6d), NULL, 0);
  unsigned long funcs = 0;
  long r = ioctl(fd, I2C_FUNCS, &funcs);
  printf("funcs %ld %s %lx\n", r, "0", funcs);
  report("unknown-ioctl", ioctl(fd, 0x1234, 0), NULL, 0);

  /* I2C_RDWR: write [0x04] without STOP, repeated start, read 4 */
  unsigned char reg = 0x04;
  struct i2c_msg msgs[2] = { { 0x6d, 0, 1, &reg }, { 0x6d, I2C_M_RD, 4, rd } };
  struct i2c_rdwr_ioctl_data rdwr = { msgs, 2 };
  r = ioctl(fd, I2C_RDWR, &rdwr);
  report("rdwr", r, rd, 4);
  struct i2c_msg many[43];
  for (int i = 0; i < 43; i++) many[i] = msgs[0];
  struct i2c_rdwr_ioctl_data too_many = { many, 43 };
  report("rdwr-43", ioctl(fd, I2C_RDWR, &too_many), NULL, 0);
  struct i2c_msg big = { 0x6d, 0, 8193, buf };
  struct i2c_rdwr_ioctl_data too_big = { &big, 1 };
  report("rdwr-8193", ioctl(fd, I2C_RDWR, &too_big), NULL, 0);

  /* I2C_SMBUS: an I2C block read of 0x17 (LED brightness), a byte-data write of it, a word read */
  union i2c_smbus_data d;
  d.block[0] = 1;
  struct i2c_smbus_ioctl_data sm = { I2C_SMBUS_READ, 0x17, I2C_SMBUS_I2C_BLOCK_DATA, &d };
  r = ioctl(fd, I2C_SMBUS, &sm);
  report("smbus-i2c-block-read", r, d.block + 1, 1);
  d.byte = 0x21;
  struct i2c_smbus_ioctl_data wb = { I2C_SMBUS_WRITE, 0x17, I2C_SMBUS_BYTE_DATA, &d };
  report("smbus-byte-write", ioctl(fd, I2C_SMBUS, &wb), NULL, 0);
  struct i2c_smbus_ioctl_data rw = { I2C_SMBUS_READ, 0x12, I2C_SMBUS_WORD_DATA, &d };
  r = ioctl(fd, I2C_SMBUS, &rw);
  report("smbus-word-read", r, (unsigned char *)&d.word, 2);
  d.block[0] = 33;
  report("smbus-block-33", ioctl(fd, I2C_SMBUS, &sm), NULL, 0);
  struct i2c_smbus_ioctl_data br = { I2C_SMBUS_READ, 0x17, I2C_SMBUS_BLOCK_DATA, &d };
  report("smbus-block-data-read", ioctl(fd, I2C_SMBUS, &br), NULL, 0);
  struct i2c_smbus_ioctl_data quick = { I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, NULL };
  report("smbus-quick", ioctl(fd, I2C_SMBUS, &quick), NULL, 0);

  /* read()/write(): one message each; i2c-dev caps them at 8192 bytes */
  report("write-1", write(fd, "\x17", 1), NULL, 0);
  memset(buf, 0, sizeof buf);
  buf[0] = 0x43;
  report("write-9000", write(fd, buf, 9000), NULL, 0);
  report("pwrite", pwrite(fd, "\x17\x30", 2, 0), NULL, 0);
  report("read", read(fd, rd, 3), rd, 3);
  report("pread", pread(fd, rd, 2, 0), rd, 2);
  struct iovec iov[2] = { { "\x17\x31", 2 }, { "\x17\x32", 2 } };
  report("writev", writev(fd, iov, 2), NULL, 0);

  /* another address: nobody acknowledges it */
  report("slave-50", ioctl(fd, I2C_SLAVE, 0x50), NULL, 0);
  report("write-50", write(fd, "\x17\x30", 2), NULL, 0);

  /* other paths pass through */
  int other = open("/dev/i2c-2", O_RDWR);
  report("open-i2c-2", other, NULL, 0);
  int null = open("/dev/null", O_WRONLY);
  report("open-null", null >= 0 ? 0 : -1, NULL, 0);
  report("write-null", write(null, "xy", 2), NULL, 0);
  close(null);
  report("close", close(fd), NULL, 0);
  return 0;
}
