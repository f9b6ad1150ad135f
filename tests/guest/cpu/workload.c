/* A larger C workload: CRC-32, a shell sort, a matrix multiply in
 * integers and doubles, and a small string hash. Its checksums are the
 * output, so it is a test as well as the "larger C" benchmark.
 * ROUNDS is small for the test; the benchmark builds it with more. */
#include "rt.h"

#ifndef ROUNDS
#define ROUNDS 6
#endif

#define N 48

static u32 crc_table[256];
static u32 data[4096];
static s32 ma[N][N], mb[N][N], mc[N][N];
static double fa[N][N], fb[N][N], fc[N][N];

static u32 lcg(u32 *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void crc_init(void)
{
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static u32 crc32(const u8 *p, size_t n)
{
	u32 c = 0xffffffffu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void shell_sort(u32 *a, int n)
{
	static const int gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (unsigned g = 0; g < N_ELEMS(gaps); g++) {
		int gap = gaps[g];
		for (int i = gap; i < n; i++) {
			u32 t = a[i];
			int j;
			for (j = i; j >= gap && a[j - gap] > t; j -= gap)
				a[j] = a[j - gap];
			a[j] = t;
		}
	}
}

int main(void)
{
	u32 seed = 1, r[4];
	crc_init();
	for (int round = 0; round < ROUNDS; round++) {
		for (unsigned i = 0; i < N_ELEMS(data); i++)
			data[i] = lcg(&seed);
		r[0] = crc32((const u8 *)data, sizeof(data));
		shell_sort(data, N_ELEMS(data));
		r[1] = crc32((const u8 *)data, sizeof(data));

		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				ma[i][j] = (s32)(lcg(&seed) & 0xffff) - 0x8000;
				mb[i][j] = (s32)(lcg(&seed) & 0xffff) - 0x8000;
				fa[i][j] = (double)ma[i][j] / 1024.0;
				fb[i][j] = (double)mb[i][j] / 3.0;
			}
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				s32 s = 0;
				double f = 0;
				for (int k = 0; k < N; k++) {
					s += ma[i][k] * mb[k][j];
					f += fa[i][k] * fb[k][j];
				}
				mc[i][j] = s;
				fc[i][j] = f;
			}
		r[2] = crc32((const u8 *)mc, sizeof(mc));
		r[3] = crc32((const u8 *)fc, sizeof(fc));
		put_line("round", 4, r);
	}
	return 0;
}
