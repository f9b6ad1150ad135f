/*
 * trace: MSR[SE] single-step and MSR[BE] branch trace, printed for comparison
 * with QEMU. The trace handler (0xD00) logs SRR0 and SRR1 to RAM and returns;
 * `sc` ends a traced run (its handler clears SE and BE). Then each log entry is
 * printed as "se|be <srr0> <srr1>", and "trace: done" ends the transcript.
 */
#define MACIO       0x81080000      /* macio BAR0, as OpenBIOS assigns it */
#define ESCC        0x13000
#define ESCC_A_CTRL 0x20            /* relative to ESCC, spacing-16 view */
#define ESCC_A_DATA 0x30
#define RR0_TX_EMPTY 0x04
#define GRACKLE_ADDR 0xFEC00000
#define GRACKLE_DATA 0xFEE00000
#define LOG         0x2000          /* RAM: (srr0, srr1) pairs */
/* IP, real mode. Not ME: QEMU's mtmsr leaves ME alone (ISA 3.0's rule, which
   it applies to the 750 too) while the 750's writes it, as beige's does. */
#define MSR_BASE    0x40
#define MSR_SE      0x400
#define MSR_BE      0x200

        .section .vectors, "ax"
        .globl _reset
        .org 0x100
_reset: b       start

        .org 0x700                  /* program check: say so and stop */
        bl      1f
        .asciz  "trace: program check\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       .

        .org 0xC00                  /* sc: end of a traced run */
        mfsrr1  r21
        rlwinm  r21, r21, 0, 23, 20 /* clear SE (bit 21) and BE (bit 22) */
        mtsrr1  r21
        rfi

        .org 0xD00                  /* trace: log SRR0, SRR1 */
        mtsprg  1, r20
        mfsprg  r20, 0
        mfsrr0  r21
        stw     r21, 0(r20)
        mfsrr1  r21
        stw     r21, 4(r20)
        addi    r20, r20, 8
        mtsprg  0, r20
        mfsprg  r20, 1
        rfi

        .org 0x2000
        .text
start:
        li      r3, MSR_BASE
        mtmsr   r3
        isync
        /* macio BAR0 and memory decoding, as firmware would (config space is LE) */
        lis     r5, GRACKLE_ADDR@h
        lis     r6, GRACKLE_DATA@h
        lis     r3, 0x8000
        ori     r3, r3, 0x8010      /* bus 0, devfn 0x80 (slot 0x10), BAR0 */
        stwbrx  r3, 0, r5
        lis     r3, MACIO@h
        stwbrx  r3, 0, r6
        lis     r3, 0x8000
        ori     r3, r3, 0x8004      /* command register */
        stwbrx  r3, 0, r5
        li      r3, 6               /* memory space + bus master */
        stwbrx  r3, 0, r6
        sync
        lis     r25, (MACIO + ESCC)@h
        ori     r25, r25, (MACIO + ESCC)@l
        li      r3, 3               /* ESCC A: receiver on (WR3), transmitter on (WR5) */
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 0xc1
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 5
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 0x68
        stb     r3, ESCC_A_CTRL(r25)
        eieio

        /* single step: every instruction after the mtmsr, up to the sc */
        li      r3, LOG
        mtsprg  0, r3
        li      r4, MSR_BASE | MSR_SE
        li      r10, 0
        mtmsr   r4
        li      r5, 1
        addi    r5, r5, 1
        b       1f
        .long   0
1:      cmpwi   r5, 7
        beq     2f                  /* not taken */
        bl      leaf
        li      r6, 2
        mtctr   r6
3:      addi    r10, r10, 1
        bdnz    3b
2:      sc
        li      r14, 'S'
        bl      dump

        /* branch trace: only the branches, taken or not */
        li      r3, LOG
        mtsprg  0, r3
        li      r4, MSR_BASE | MSR_BE
        mtmsr   r4
        li      r5, 0
        cmpwi   r5, 1
        beq     1f                  /* not taken */
        addi    r5, r5, 1
        b       1f
        .long   0
1:      bl      leaf
        li      r6, 3
        mtctr   r6
3:      addi    r10, r10, 1
        bdnz    3b
        sc
        li      r14, 'B'
        bl      dump

        bl      1f
        .asciz  "trace: done\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       .

leaf:   addi    r10, r10, 1
        blr

/* dump: prints the log (LOG up to SPRG0), one "<r14> srr0 srr1" line an entry */
dump:
        mflr    r15
        li      r16, LOG
        mfsprg  r17, 0
4:      cmplw   r16, r17
        bge     5f
        mr      r4, r14
        bl      putc
        li      r4, ' '
        bl      putc
        lwz     r3, 0(r16)
        bl      puthex
        li      r4, ' '
        bl      putc
        lwz     r3, 4(r16)
        bl      puthex
        bl      crlf
        addi    r16, r16, 8
        b       4b
5:      mtlr    r15
        blr

/* putc(r4): polled output on ESCC A (base in r25); clobbers r5 */
putc:
        lbz     r5, ESCC_A_CTRL(r25)
        andi.   r5, r5, RR0_TX_EMPTY
        beq     putc
        stb     r4, ESCC_A_DATA(r25)
        eieio
        blr

/* puts(r3): clobbers r3, r4, r5, r9 */
puts:
        mflr    r9
6:      lbz     r4, 0(r3)
        cmpwi   r4, 0
        beq     7f
        bl      putc
        addi    r3, r3, 1
        b       6b
7:      mtlr    r9
        blr

/* crlf: clobbers r4, r5, r9 */
crlf:
        mflr    r9
        li      r4, 13
        bl      putc
        li      r4, 10
        bl      putc
        mtlr    r9
        blr

/* puthex(r3): eight hex digits; clobbers r3, r4, r5, r8, r9 */
puthex:
        mflr    r9
        li      r8, 8
8:      rotlwi  r3, r3, 4
        andi.   r4, r3, 0xf
        cmpwi   r4, 10
        blt     9f
        addi    r4, r4, 39          /* 'a' - 10 - '0' */
9:      addi    r4, r4, 48          /* '0' */
        bl      putc
        addic.  r8, r8, -1
        bne     8b
        mtlr    r9
        blr
