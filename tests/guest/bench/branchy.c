/* Benchmark: branch-heavy control flow: a byte-code interpreter with a
 * switch, data-dependent branches and calls. */
#include "rt.h"

#ifndef ITER
#define ITER 300000
#endif

static u32 __attribute__((noinline)) collatz_steps(u32 n)
{
	u32 s = 0;
	while (n != 1) {
		n = n & 1 ? 3 * n + 1 : n >> 1;
		s++;
	}
	return s;
}

static const u8 prog[] = { 0, 1, 2, 3, 1, 4, 0, 2, 5, 3, 6, 1, 7, 2, 4, 0 };

int main(void)
{
	u32 acc = 0, x = 1;
	for (u32 it = 0; it < ITER; it++) {
		for (unsigned pc = 0; pc < sizeof(prog); pc++) {
			switch (prog[pc] ^ (x & 7)) {
			case 0: x += 3; break;
			case 1: x ^= x >> 3; break;
			case 2: x = x * 5 + 1; break;
			case 3: acc += x; break;
			case 4: if (x & 16) acc ^= x; else acc -= 1; break;
			case 5: x = (x << 1) | (x >> 31); break;
			case 6: acc += x > acc; break;
			default: x -= acc & 0xff; break;
			}
		}
		if ((it & 15) == 0)
			acc += collatz_steps((it & 1023) + 1);
	}
	u32 r[2] = { acc, x };
	put_line("branchy", 2, r);
	return 0;
}
