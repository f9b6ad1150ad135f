/* Benchmark: integer ALU work in a tight loop (xorshift, multiply,
 * rotate, add), no memory traffic. */
#include "rt.h"

#ifndef ITER
#define ITER 20000000
#endif

int main(void)
{
	u32 x = 2463534242u, acc = 0, acc2 = 1;
	for (u32 i = 0; i < ITER; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		acc += x * 2654435761u;
		acc2 = (acc2 << 7 | acc2 >> 25) ^ (acc + i);
	}
	u32 r[2] = { acc, acc2 };
	put_line("int_loop", 2, r);
	return 0;
}
