/* Self-modifying code: rewrite instructions of a function that has
 * already run (so it is translated), with the architected sequence
 * dcbst/sync/icbi/isync, and call it again. Also rewrite a whole cache
 * line after zeroing it with dcbz. Built with -Wl,-N so text is writable. */
#include "rt.h"

/* smc_fn returns r3 = 1; smc_line is a 32-byte line of code. */
asm(".text\n"
    "\t.balign 32\n"
    "\t.globl smc_fn\n"
    "smc_fn:\n"
    "\tli 3, 1\n"
    "\tblr\n"
    "\t.balign 32\n"
    "\t.globl smc_line\n"
    "smc_line:\n"
    "\tli 3, 10\n\taddi 3, 3, 1\n\taddi 3, 3, 1\n\taddi 3, 3, 1\n"
    "\taddi 3, 3, 1\n\taddi 3, 3, 1\n\taddi 3, 3, 1\n\tblr\n");

u32 smc_fn(void);
u32 smc_line(void);
extern u32 smc_fn_words[] __asm__("smc_fn");
extern u32 smc_line_words[] __asm__("smc_line");

static void sync_icache(void *p)
{
	asm volatile("dcbst 0, %0\n\tsync\n\ticbi 0, %0\n\tisync" : : "r"(p) : "memory");
}

int main(void)
{
	u32 r[4];

	/* Run, patch the immediate, run again: many times, so the function
	 * is translated, invalidated and retranslated repeatedly. */
	u32 sum = 0;
	for (u32 i = 0; i < 200; i++) {
		smc_fn_words[0] = 0x38600000 | (i & 0x7fff); /* li r3, i */
		sync_icache(&smc_fn_words[0]);
		sum = sum * 31 + smc_fn();
	}
	r[0] = sum;
	r[1] = smc_fn();
	put_line("patch-imm", 2, r);

	r[0] = smc_line();
	/* Zero the line, then write a new body: li r3,100; addi r3,r3,5; blr */
	asm volatile("dcbz 0, %0" : : "r"(smc_line_words) : "memory");
	smc_line_words[0] = 0x38600064;
	smc_line_words[1] = 0x38630005;
	smc_line_words[2] = 0x4e800020;
	for (int i = 0; i < 8; i++)
		sync_icache(&smc_line_words[i]);
	r[1] = smc_line();
	/* Patch the middle of the new body to a branch over nothing: b .+4 */
	smc_line_words[1] = 0x48000004;
	sync_icache(&smc_line_words[1]);
	r[2] = smc_line();
	put_line("patch-line", 3, r);
	return 0;
}
