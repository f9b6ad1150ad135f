/* Benchmark: loads and stores: a 64 KB array swept with word, half and
 * byte accesses, copy and strided read-modify-write. */
#include "rt.h"

#ifndef ITER
#define ITER 400
#endif

static u32 a[16384], b[16384];

int main(void)
{
	u32 sum = 0;
	for (u32 i = 0; i < N_ELEMS(a); i++)
		a[i] = i * 0x9e3779b9u;
	for (u32 it = 0; it < ITER; it++) {
		for (u32 i = 0; i < N_ELEMS(a); i++)
			b[i] = a[i] + it;
		for (u32 i = 0; i < N_ELEMS(a); i += 4) {
			a[i] ^= b[(i * 7) & (N_ELEMS(b) - 1)];
			sum += ((u16 *)b)[i] + ((u8 *)a)[i * 3];
		}
	}
	u32 r[2] = { sum, a[123] };
	put_line("mem_loop", 2, r);
	return 0;
}
