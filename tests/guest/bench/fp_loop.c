/* Benchmark: double-precision FP: a Mandelbrot escape-time loop (mul,
 * add, multiply-add, compare) plus a division-heavy series. */
#include "rt.h"

#ifndef ITER
#define ITER 40
#endif

int main(void)
{
	u32 total = 0;
	double series = 0;
	for (int it = 0; it < ITER; it++) {
		for (int py = 0; py < 64; py++)
			for (int px = 0; px < 64; px++) {
				double cr = -2.0 + px * (2.5 / 64), ci = -1.25 + py * (2.5 / 64);
				double zr = 0, zi = 0;
				int n = 0;
				while (n < 64 && zr * zr + zi * zi < 4.0) {
					double t = zr * zr - zi * zi + cr;
					zi = 2.0 * zr * zi + ci;
					zr = t;
					n++;
				}
				total += n;
			}
		for (int k = 1; k < 2000; k++)
			series += (k & 1 ? 4.0 : -4.0) / (2 * k - 1);
	}
	u64 s = f2u(series);
	u32 r[3] = { total, (u32)(s >> 32), (u32)s };
	put_line("fp_loop", 3, r);
	return 0;
}
