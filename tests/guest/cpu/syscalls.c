/* The system calls the user-mode shim provides, as a program sees them:
 * write to stdout and to a bad fd, brk growing and refusing, exit code.
 * Addresses differ between emulators, so only relations are printed. */
#include "rt.h"

int main(void)
{
	u32 r[4];

	rt_flush();
	r[0] = (u32)sys_write(1, "direct write\n", 13);
	r[1] = (u32)sys_write(99, "x", 1); /* -EBADF */
	r[2] = (u32)sys_write(1, "", 0);
	put_line("write", 3, r);

	long brk0 = sys_brk(0);
	long grown = sys_brk((void *)(brk0 + 8192));
	r[0] = brk0 != 0 && (brk0 & 0xfff) == 0;
	r[1] = (u32)(grown - brk0);
	volatile u8 *heap = (volatile u8 *)brk0;
	heap[0] = 0x5a;
	heap[8191] = 0xa5;
	r[2] = heap[0] ^ heap[8191];
	r[3] = (u32)(sys_brk(0) - brk0);
	put_line("brk", 4, r);

	/* Shrinking below the start is refused: the break stays put. */
	r[0] = (u32)(sys_brk((void *)(brk0 - 0x100000)) - brk0);
	put_line("brk-refused", 1, r);
	return 3;
}
