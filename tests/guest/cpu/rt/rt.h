/* A tiny runtime for freestanding guest programs: buffered output of hex
 * lines through write(2), exit through exit(2). No libc. */
#ifndef RT_H
#define RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef signed int s32;
typedef unsigned long long u64;
typedef unsigned long size_t;

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

long sys_write(int fd, const void *buf, size_t len);
void sys_exit(int code) __attribute__((noreturn));
void sys_exit_group(int code) __attribute__((noreturn));
long sys_brk(void *addr);
long sys_call(long nr, long a, long b, long c);

void rt_flush(void);
void rt_exit(int code) __attribute__((noreturn));
void put_char(char c);
void put_str(const char *s);
void put_hex32(u32 v);
void put_hex64(u64 v);
void put_nl(void);
/* "name v0 v1 ... \n" with every value as 8 hex digits. */
void put_line(const char *name, int n, const u32 *vals);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

static inline u64 f2u(double d) { union { double d; u64 u; } x; x.d = d; return x.u; }
static inline double u2f(u64 u) { union { double d; u64 u; } x; x.u = u; return x.d; }

#endif
