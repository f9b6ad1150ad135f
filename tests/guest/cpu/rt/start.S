/* Entry point and system calls for freestanding guest programs.
 * Linux/PowerPC ABI: number in r0, arguments in r3..r5, result in r3,
 * CR0[SO] set on error (we return -errno then). */
	.section .text
	.globl _start
_start:
	li	0, 0
	stwu	1, -16(1)	/* terminate the back chain */
	stw	0, 0(1)
	bl	main
	bl	rt_exit		/* flushes the output buffer and exits */
1:	b	1b

	.globl sys_write
sys_write:
	li	0, 4
	sc
	bnslr
	neg	3, 3
	blr

	.globl sys_exit
sys_exit:
	li	0, 1
	sc
	b	sys_exit

	.globl sys_exit_group
sys_exit_group:
	li	0, 234
	sc
	b	sys_exit_group

	.globl sys_brk
sys_brk:
	li	0, 45
	sc
	bnslr
	neg	3, 3
	blr

	.globl sys_call
/* sys_call(nr, a, b, c): a raw syscall for testing the shim's errors. */
sys_call:
	mr	0, 3
	mr	3, 4
	mr	4, 5
	mr	5, 6
	sc
	bnslr
	neg	3, 3
	blr
	.section .note.GNU-stack,"",@progbits
