#include "rt.h"

static char out_buf[4096];
static size_t out_len;

void rt_flush(void)
{
	size_t off = 0;
	while (off < out_len) {
		long n = sys_write(1, out_buf + off, out_len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	out_len = 0;
}

void rt_exit(int code)
{
	rt_flush();
	sys_exit_group(code);
}

void put_char(char c)
{
	if (out_len == sizeof(out_buf))
		rt_flush();
	out_buf[out_len++] = c;
}

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

void put_hex32(u32 v)
{
	static const char digits[] = "0123456789abcdef";
	if (out_len + 8 > sizeof(out_buf))
		rt_flush();
	for (int i = 28; i >= 0; i -= 4)
		out_buf[out_len++] = digits[(v >> i) & 15];
}

void put_hex64(u64 v)
{
	put_hex32((u32)(v >> 32));
	put_hex32((u32)v);
}

void put_nl(void)
{
	put_char('\n');
}

void put_line(const char *name, int n, const u32 *vals)
{
	put_str(name);
	for (int i = 0; i < n; i++) {
		put_char(' ');
		put_hex32(vals[i]);
	}
	put_nl();
}

/* gcc may emit calls to these even with -ffreestanding. Byte loops on
 * purpose: volatile keeps gcc from turning them back into calls. */
void *memset(void *d, int c, size_t n)
{
	volatile u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}
