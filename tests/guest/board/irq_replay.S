/*
 * irq-replay: asserts an interrupt while MSR[EE]=0, waits one second of timebase
 * (the window in which a test takes its snapshot), then enables EE and reports
 * whether the external-interrupt handler ran.
 *
 * Between the snapshot window and enabling EE the guest touches no device on
 * purpose: any interrupt-controller update (a keypress, a byte printed on the
 * ESCC) re-sends the CPU's pin level, which is how QEMU's bug un-hung.
 *
 * Path: VIA T1 underflow -> CUDA IRQ -> Heathrow PIC line 0x12 -> CPU INT.
 * The PIC latches the CUDA line as an edge event, so the CPU pin stays high
 * until the handler clears it: a snapshot taken while waiting must carry it.
 */
#define MACIO       0x81080000      /* macio BAR0, as OpenBIOS assigns it */
#define PIC_EVENTS1 0x20            /* IRQs 0-31 bank, little-endian */
#define PIC_MASK1   0x24
#define PIC_CLEAR1  0x28
#define CUDA_IRQ    0x12
#define VIA         0x16000
#define VIA_T1CL    (4 * 0x200)
#define VIA_T1CH    (5 * 0x200)
#define VIA_ACR     (11 * 0x200)
#define VIA_IFR     (13 * 0x200)
#define VIA_IER     (14 * 0x200)
#define IFR_T1      0x40
#define ESCC        0x13000
#define ESCC_A_CTRL 0x20            /* relative to ESCC, spacing-16 view */
#define ESCC_A_DATA 0x30
#define RR0_TX_EMPTY 0x04
#define GRACKLE_ADDR 0xFEC00000
#define GRACKLE_DATA 0xFEE00000
#define FLAG        0x1000          /* RAM word the handler sets */
#define MSR_EE      0x8000
#define WAIT_TB     8300000         /* 0.5 s of 16.6 MHz timebase */
#define SNAP_TB     16600000        /* 1 s */

        .section .vectors, "ax"
        .globl _reset
        .org 0x100
_reset: b       start

        .org 0x500                  /* external interrupt */
        mtsprg  0, r3
        mtsprg  1, r4
        mfcr    r3
        mtsprg  2, r3
        li      r3, 1
        li      r4, FLAG
        stw     r3, 0(r4)
        lis     r4, (MACIO + VIA)@h
        ori     r4, r4, (MACIO + VIA)@l
        li      r3, IFR_T1          /* IER bit 7 clear: disable T1 */
        stb     r3, VIA_IER(r4)
        lbz     r3, VIA_T1CL(r4)    /* reading T1CL acknowledges T1 */
        eieio
        lis     r4, MACIO@h
        ori     r4, r4, PIC_CLEAR1
        lis     r3, (1 << CUDA_IRQ)@h
        stwbrx  r3, 0, r4
        sync
        mfsprg  r3, 2
        mtcr    r3
        mfsprg  r4, 1
        mfsprg  r3, 0
        rfi

        .org 0x700                  /* program check: say so and stop */
        bl      1f
        .asciz  "irq-replay: program check\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       .

        .org 0x900                  /* decrementer: push it far away */
        mtsprg  0, r3
        lis     r3, 0x7fff
        mtdec   r3
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
        .asciz  "irq-replay: start\r\n"
        .align  2
1:      mflr    r3
        bl      puts

        /* unmask the CUDA line in the PIC */
        lis     r3, (1 << CUDA_IRQ)@h
        addi    r4, r20, PIC_MASK1
        stwbrx  r3, 0, r4

        /* VIA T1 one-shot, interrupt enabled, 256 ticks */
        addis   r21, r20, VIA@ha
        addi    r21, r21, VIA@l
        li      r3, 0
        stb     r3, VIA_ACR(r21)
        li      r3, 0x80 | IFR_T1
        stb     r3, VIA_IER(r21)
        li      r3, 0
        stb     r3, VIA_T1CL(r21)
        li      r3, 1
        stb     r3, VIA_T1CH(r21)
        eieio
2:      lbz     r3, VIA_IFR(r21)
        andi.   r3, r3, IFR_T1
        beq     2b

        bl      1f
        .asciz  "irq-replay: pending\r\n"
        .align  2
1:      mflr    r3
        bl      puts

        /* the snapshot window: spin on the timebase only */
        mftb    r22
        lis     r23, SNAP_TB@h
        ori     r23, r23, SNAP_TB@l
3:      mftb    r3
        subf    r3, r22, r3
        cmplw   r3, r23
        blt     3b

        /* no device access between the window and EE: it would re-send the pin */
        mfmsr   r3
        ori     r3, r3, MSR_EE
        mtmsr   r3

        /* wait for the handler, at most WAIT_TB timebase ticks */
        mftb    r22
        lis     r23, WAIT_TB@h
        ori     r23, r23, WAIT_TB@l
        li      r24, FLAG
4:      lwz     r3, 0(r24)
        cmpwi   r3, 0
        bne     5f
        mftb    r3
        subf    r3, r22, r3
        cmplw   r3, r23
        blt     4b

        bl      1f
        .asciz  "irq-replay: interrupt lost\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       6f

5:      bl      1f
        .asciz  "irq-replay: handler ran\r\n"
        .align  2
1:      mflr    r3
        bl      puts
6:      bl      1f
        .asciz  "irq-replay: done\r\n"
        .align  2
1:      mflr    r3
        bl      puts
        b       .

/* puts(r3): polled output on ESCC A (base in r25); clobbers r3, r4, r5 */
puts:
        lbz     r4, 0(r3)
        cmpwi   r4, 0
        beqlr
7:      lbz     r5, ESCC_A_CTRL(r25)
        andi.   r5, r5, RR0_TX_EMPTY
        beq     7b
        stb     r4, ESCC_A_DATA(r25)
        eieio
        addi    r3, r3, 1
        b       puts
