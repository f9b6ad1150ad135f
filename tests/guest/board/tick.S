/*
 * tick: a small deterministic guest for golden snapshots and replay tests.
 *
 * Two interrupt sources run at once: the decrementer (every 1 ms) and VIA timer 1
 * in free-run mode (CUDA line -> Heathrow PIC -> CPU INT). Each handler counts in
 * RAM. The main loop prints "tick <dec count> <via count>" on ESCC A whenever the
 * decrementer count changes, scribbles the count into a RAM page, and echoes any
 * byte received on ESCC A as "rx <byte>". So a snapshot at any moment holds a
 * pending timer on two devices, serial state and dirty RAM, and any lost or
 * duplicated interrupt shows in the transcript.
 *
 * Frozen: committed golden snapshots run this exact code (it lives in the ROM,
 * which snapshots do not carry). Change it only by adding a new guest file.
 */
#define MACIO       0x81080000      /* macio BAR0, as OpenBIOS assigns it */
#define PIC_MASK1   0x24            /* IRQs 0-31 bank, little-endian */
#define PIC_CLEAR1  0x28
#define CUDA_IRQ    0x12
#define VIA         0x16000
#define VIA_T1CL    (4 * 0x200)
#define VIA_T1CH    (5 * 0x200)
#define VIA_ACR     (11 * 0x200)
#define VIA_IER     (14 * 0x200)
#define ACR_T1_FREERUN 0x40
#define IFR_T1      0x40
#define T1_PERIOD   3000            /* VIA ticks (783.36 kHz): about 3.8 ms */
#define ESCC        0x13000
#define ESCC_A_CTRL 0x20            /* relative to ESCC, spacing-16 view */
#define ESCC_A_DATA 0x30
#define RR0_RX_AVAIL 0x01
#define RR0_TX_EMPTY 0x04
#define GRACKLE_ADDR 0xFEC00000
#define GRACKLE_DATA 0xFEE00000
#define DEC_PERIOD  16600           /* 1 ms of 16.6 MHz timebase */
#define TICKS       0x1000          /* RAM: decrementer interrupts taken */
#define VIAS        0x1004          /* RAM: VIA T1 interrupts taken */
#define SCRATCH     0x10000         /* RAM the main loop scribbles on */
#define MSR_EE      0x8000

        .section .vectors, "ax"
        .globl _reset
        .org 0x100
_reset: b       start

        .org 0x500                  /* external interrupt: VIA T1 via CUDA */
        mtsprg  0, r3
        mtsprg  1, r4
        mfcr    r3
        mtsprg  2, r3
        lis     r4, (MACIO + VIA)@h
        ori     r4, r4, (MACIO + VIA)@l
        lbz     r3, VIA_T1CL(r4)    /* reading T1CL acknowledges T1 */
        eieio
        lis     r4, MACIO@h
        ori     r4, r4, PIC_CLEAR1
        lis     r3, (1 << CUDA_IRQ)@h
        stwbrx  r3, 0, r4
        sync
        li      r4, VIAS
        lwz     r3, 0(r4)
        addi    r3, r3, 1
        stw     r3, 0(r4)
        mfsprg  r3, 2
        mtcr    r3
        mfsprg  r4, 1
        mfsprg  r3, 0
        rfi

        .org 0x700                  /* program check: say so and stop */
        bl      1f
        .asciz  "tick: program check\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       .

        .org 0x900                  /* decrementer: count and re-arm */
        mtsprg  0, r3
        mtsprg  1, r4
        li      r3, DEC_PERIOD@l
        oris    r3, r3, DEC_PERIOD@h
        mtdec   r3
        li      r4, TICKS
        lwz     r3, 0(r4)
        addi    r3, r3, 1
        stw     r3, 0(r4)
        mfsprg  r4, 1
        mfsprg  r3, 0
        rfi

        .org 0x2000
        .text
start:
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

        lis     r20, MACIO@h
        ori     r20, r20, MACIO@l
        addis   r25, r20, ESCC@ha
        addi    r25, r25, ESCC@l
        /* ESCC A: receiver on (WR3), transmitter on (WR5) */
        li      r3, 3
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 0xc1
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 5
        stb     r3, ESCC_A_CTRL(r25)
        li      r3, 0x68
        stb     r3, ESCC_A_CTRL(r25)
        eieio

        bl      1f
        .asciz  "tick: start\r\n"
        .align  2
1:      mflr    r3
        bl      puts

        /* unmask the CUDA line in the PIC */
        lis     r3, (1 << CUDA_IRQ)@h
        addi    r4, r20, PIC_MASK1
        stwbrx  r3, 0, r4

        /* VIA T1 free-running, interrupt enabled */
        addis   r21, r20, VIA@ha
        addi    r21, r21, VIA@l
        li      r3, ACR_T1_FREERUN
        stb     r3, VIA_ACR(r21)
        li      r3, 0x80 | IFR_T1
        stb     r3, VIA_IER(r21)
        li      r3, T1_PERIOD & 0xff
        stb     r3, VIA_T1CL(r21)
        li      r3, T1_PERIOD >> 8
        stb     r3, VIA_T1CH(r21)
        eieio

        li      r3, DEC_PERIOD@l
        oris    r3, r3, DEC_PERIOD@h
        mtdec   r3
        mfmsr   r3
        ori     r3, r3, MSR_EE
        mtmsr   r3

        li      r26, 0              /* last decrementer count printed */
        li      r24, TICKS
main:
        lbz     r5, ESCC_A_CTRL(r25)
        andi.   r5, r5, RR0_RX_AVAIL
        beq     2f
        lbz     r27, ESCC_A_DATA(r25)
        bl      1f
        .asciz  "rx "
        .align  2
1:      mflr    r3
        bl      puts
        mr      r4, r27
        bl      putc
        bl      crlf
2:      lwz     r3, 0(r24)
        cmpw    r3, r26
        beq     main
        mr      r26, r3
        /* scribble: SCRATCH[count % 16384] = count * 0x9e3779b1 */
        rlwinm  r4, r3, 2, 16, 29
        addis   r4, r4, SCRATCH@h
        lis     r5, 0x9e37
        ori     r5, r5, 0x79b1
        mullw   r5, r3, r5
        stw     r5, 0(r4)
        bl      1f
        .asciz  "tick "
        .align  2
1:      mflr    r3
        bl      puts
        mr      r3, r26
        bl      puthex
        li      r4, ' '
        bl      putc
        lwz     r3, 4(r24)
        bl      puthex
        bl      crlf
        b       main

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
3:      lbz     r4, 0(r3)
        cmpwi   r4, 0
        beq     4f
        bl      putc
        addi    r3, r3, 1
        b       3b
4:      mtlr    r9
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

/* puthex(r3): eight hex digits; clobbers r3, r4, r5, r6, r8, r9 */
puthex:
        mflr    r9
        li      r8, 8
5:      rotlwi  r3, r3, 4
        andi.   r4, r3, 0xf
        cmpwi   r4, 10
        blt     6f
        addi    r4, r4, 39          /* 'a' - 10 - '0' */
6:      addi    r4, r4, 48          /* '0' */
        bl      putc
        addic.  r8, r8, -1
        bne     5b
        mtlr    r9
        blr
