/*
 * Differential test of the PowerPC FPU: runs every FP operation over a table of
 * edge inputs and random inputs, under each rounding mode and with exceptions
 * disabled and enabled, and prints one line per case:
 *
 *   op fpscr_in a b c result fpscr_out trapped
 *
 * all in hex; trapped is 1 for SIGFPE, 2 for SIGILL (an instruction the CPU
 * model lacks). Enabled exceptions raise SIGFPE under qemu-ppc; the handler
 * records FRT, FPSCR and CR from the signal frame and resumes after the
 * instruction. Freestanding: built with -nostdlib -static, syscalls via sc.
 * cpu-ppc/tests/fpu_qemu.rs runs it and replays every line through cpu_ppc::fpu.
 */
typedef unsigned long long u64;
typedef unsigned int u32;

struct io {
    u64 a, b, c, sentinel, fpscr_in, out, fpscr_out, cr, zero;
};

static long sys4(long nr, long a, long b, long c, long d)
{
    register long r0 asm("r0") = nr;
    register long r3 asm("r3") = a;
    register long r4 asm("r4") = b;
    register long r5 asm("r5") = c;
    register long r6 asm("r6") = d;
    asm volatile("sc" : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6)
                 : : "memory", "cr0", "r7", "r8", "r9", "r10", "r11", "r12", "ctr");
    return r3;
}

static long sys3(long nr, long a, long b, long c)
{
    return sys4(nr, a, b, c, 0);
}

static char obuf[65536];
static int olen;

static void flush(void)
{
    int off = 0;
    while (off < olen) {
        long n = sys3(4, 1, (long)(obuf + off), olen - off);
        if (n <= 0) {
            break;
        }
        off += n;
    }
    olen = 0;
}

static void puts_(const char *s)
{
    while (*s) {
        if (olen == sizeof(obuf)) {
            flush();
        }
        obuf[olen++] = *s++;
    }
}

static void hex(u64 v, int digits)
{
    char b[17];
    for (int i = digits - 1; i >= 0; i--) {
        b[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    b[digits] = 0;
    puts_(b);
}

/* Signal handling: results captured from the frame at the trap. */
static volatile u32 trapped;
static volatile u64 trap_f0, trap_fpscr, trap_cr;
static volatile unsigned long resume_at;

struct k_sigaction {
    void (*handler)(int, void *);
    unsigned long flags;
    void *restorer;
    u32 mask[2];
};

static void on_signal(int sig, void *sc)
{
    /* struct sigcontext: _unused[4], signal, handler, oldmask, regs. */
    unsigned long *regs = *(unsigned long **)((char *)sc + 28);
    u64 *fregs = (u64 *)(regs + 48);
    trapped = sig == 4 ? 2 : 1;
    trap_f0 = fregs[0];
    trap_fpscr = fregs[32] & 0xffffffffULL;
    trap_cr = regs[38];
    regs[32] = resume_at;
}

/*
 * One stub per instruction: f1=a, f2=b, f3=c, f0=sentinel, FPSCR=fpscr_in,
 * then the instruction, then FRT (f0), FPSCR and CR are stored and FPSCR is
 * cleared so that the C code in between never traps.
 */
#define STUB(name, insn)                                                 \
    extern void name(struct io *);                                       \
    extern char name##_resume[];                                         \
    asm(".text\n.globl " #name "\n.globl " #name "_resume\n" #name ":\n" \
        "lfd 1,0(3)\nlfd 2,8(3)\nlfd 3,16(3)\nlfd 0,24(3)\n"             \
        "lfd 4,32(3)\nmtfsf 0xff,4\n"                                    \
        insn "\n" #name "_resume:\n"                                     \
        "stfd 0,40(3)\nmffs 4\nstfd 4,48(3)\nmfcr 5\nstw 5,60(3)\n"            \
        "lfd 4,64(3)\nmtfsf 0xff,4\nblr\n");

STUB(s_fadd, "fadd 0,1,2")
STUB(s_fadds, "fadds 0,1,2")
STUB(s_fsub, "fsub 0,1,2")
STUB(s_fsubs, "fsubs 0,1,2")
STUB(s_fmul, "fmul 0,1,3")
STUB(s_fmuls, "fmuls 0,1,3")
STUB(s_fdiv, "fdiv 0,1,2")
STUB(s_fdivs, "fdivs 0,1,2")
STUB(s_fsqrt, "fsqrt 0,2")
STUB(s_fsqrts, "fsqrts 0,2")
STUB(s_fres, "fres 0,2")
STUB(s_frsqrte, "frsqrte 0,2")
STUB(s_fsel, "fsel 0,1,3,2")
STUB(s_fmadd, "fmadd 0,1,3,2")
STUB(s_fmadds, "fmadds 0,1,3,2")
STUB(s_fmsub, "fmsub 0,1,3,2")
STUB(s_fmsubs, "fmsubs 0,1,3,2")
STUB(s_fnmadd, "fnmadd 0,1,3,2")
STUB(s_fnmadds, "fnmadds 0,1,3,2")
STUB(s_fnmsub, "fnmsub 0,1,3,2")
STUB(s_fnmsubs, "fnmsubs 0,1,3,2")
STUB(s_frsp, "frsp 0,2")
STUB(s_fctiw, "fctiw 0,2")
STUB(s_fctiwz, "fctiwz 0,2")
STUB(s_fcmpu, "fcmpu 1,1,2")
STUB(s_fcmpo, "fcmpo 1,1,2")
/* mtfsf FM,f2 for a few masks; mffs keeps the full 64-bit FRT. */
STUB(s_mtfsf_ff, "mtfsf 0xff,2")
STUB(s_mtfsf_80, "mtfsf 0x80,2")
STUB(s_mtfsf_7f, "mtfsf 0x7f,2")
STUB(s_mtfsf_01, "mtfsf 0x01,2")
STUB(s_mtfsf_c3, "mtfsf 0xc3,2")
STUB(s_mffs, "mffs 0")

#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

struct op {
    const char *name;
    void (*fn)(struct io *);
    char *resume;
    int arity; /* 1: b only, 2: a,b (or a,c for mul), 3: a,b,c, 4: compare */
};

#define OP(n, ar) { #n, s_##n, s_##n##_resume, ar }
static const struct op ops[] = {
    OP(fadd, 2), OP(fadds, 2), OP(fsub, 2), OP(fsubs, 2),
    OP(fmul, 5), OP(fmuls, 5), OP(fdiv, 2), OP(fdivs, 2),
    OP(fsqrt, 1), OP(fsqrts, 1), OP(fres, 1), OP(frsqrte, 1),
    OP(frsp, 1), OP(fctiw, 1), OP(fctiwz, 1),
    OP(fcmpu, 4), OP(fcmpo, 4), OP(fsel, 3),
    OP(fmadd, 3), OP(fmadds, 3), OP(fmsub, 3), OP(fmsubs, 3),
    OP(fnmadd, 3), OP(fnmadds, 3), OP(fnmsub, 3), OP(fnmsubs, 3),
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static const u64 edge[] = {
    0x0000000000000000ULL, 0x8000000000000000ULL, /* +-0 */
    0x0000000000000001ULL, 0x800fffffffffffffULL, /* denormals */
    0x0008000000000000ULL, 0x8000000000000003ULL,
    0x0010000000000000ULL, 0x8010000000000000ULL, /* +-min normal */
    0x7fefffffffffffffULL, 0xffefffffffffffffULL, /* +-max */
    0x3ff0000000000000ULL, 0xbff0000000000000ULL, /* +-1 */
    0x4000000000000000ULL, 0x4008000000000000ULL, /* 2, 3 */
    0x3fe0000000000000ULL, 0x3ff8000000000000ULL, /* 0.5, 1.5 */
    0x4004000000000000ULL, 0xc004000000000000ULL, /* +-2.5 */
    0x3ff0000000000001ULL, 0x3fefffffffffffffULL, /* 1+ulp, 1-ulp */
    0x3fd5555555555555ULL, 0x7e37e43c8800759cULL, /* 1/3, 1e300 */
    0x01a56e1fc2f8f359ULL, 0x47efffffe0000000ULL, /* 1e-300, single max */
    0x47effffff0000000ULL, 0xc7effffff0000001ULL, /* single max + half ulp */
    0x3810000000000000ULL, 0x36a0000000000000ULL, /* single min normal, min denormal */
    0x3690000000000000ULL, 0xb6a8000000000000ULL, /* half / 1.5x single min denormal */
    0x380fffffffffffffULL, 0x3ff0000010000000ULL, /* just below single min, 1+2^-24 */
    0x3ff0000010000001ULL, 0xbff0000030000000ULL, /* above tie, odd tie */
    0x41e0000000000000ULL, 0x41dfffffffe00000ULL, /* 2^31, 2^31-0.5 */
    0xc1e0000000000000ULL, 0xc1e0000000200000ULL, /* -2^31, -2^31-1 */
    0x41f0000000000000ULL, 0xbfe0000000000000ULL, /* 2^32, -0.5 */
    0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +-inf */
    0x7ff8000000000001ULL, 0xfff80000000fffffULL, /* qnans */
    0x7ff0000000000003ULL, 0xfff4000000000004ULL, /* snans */
    0x7ffc0000e0000000ULL, 0x43e0000000000000ULL, /* qnan, 2^63 */
};
#define NEDGE (sizeof(edge) / sizeof(edge[0]))

/* A smaller set for the three-operand forms. */
static const u64 edge3[] = {
    0x0000000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
    0x8010000000000000ULL, 0x7fefffffffffffffULL, 0x3ff0000000000000ULL,
    0xbff0000000000000ULL, 0x3fd5555555555555ULL, 0x3ff0000010000000ULL,
    0x47efffffe0000000ULL, 0x3810000000000000ULL, 0x36a0000000000000ULL,
    0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000001ULL,
    0xfff4000000000004ULL, 0x3ff0000000000001ULL, 0xbcb0000000000000ULL,
};
#define NEDGE3 (sizeof(edge3) / sizeof(edge3[0]))

/* FPSCR settings: each rounding mode, with no and with all exceptions enabled. */
static const u32 cfgs[] = {
    0, 1, 2, 3, 0xf8, 0xf9, 0xfa, 0xfb,
    0x82000000, /* FX, XX already set */
    0x02000000, /* XX set, FX clear: is FX set again? */
    0x80,       /* VE only */
    0x10,       /* ZE only */
    0x08,       /* XE only */
    0x20,       /* UE only */
    0x40,       /* OE only */
    0x00060000, /* FR, FI preset: which ops clear them? */
    0x0001f002, /* FPRF preset, round up */
    0x00000004, /* NI: qemu ignores non-IEEE mode */
};
#define NCFG (sizeof(cfgs) / sizeof(cfgs[0]))

static void run(const struct op *op, u32 cfg, u64 a, u64 b, u64 c)
{
    struct io io;
    io.a = a;
    io.b = b;
    io.c = c;
    io.sentinel = SENTINEL;
    io.fpscr_in = cfg;
    io.out = 0;
    io.fpscr_out = 0;
    io.cr = 0;
    io.zero = 0;
    trapped = 0;
    resume_at = (unsigned long)op->resume;
    op->fn(&io);
    u64 out = io.out, fpscr = io.fpscr_out & 0xffffffffULL, cr = io.cr;
    if (trapped) {
        out = trap_f0;
        fpscr = trap_fpscr;
        cr = trap_cr;
    }
    if (op->arity == 4) {
        out = (cr >> 24) & 0xf; /* cr1 */
    }
    puts_(op->name);
    puts_(" ");
    hex(cfg, 8);
    puts_(" ");
    hex(a, 16);
    puts_(" ");
    hex(b, 16);
    puts_(" ");
    hex(c, 16);
    puts_(" ");
    hex(out, 16);
    puts_(" ");
    hex(fpscr, 8);
    puts_(trapped == 2 ? " 2\n" : trapped ? " 1\n" : " 0\n");
}

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random values clustered where rounding is interesting. */
static u64 rand_val(void)
{
    static const int exps[] = {
        1023, 1023, 1022, 1024, 1023 + 30, 1023 + 31, 1023 - 1, 1023 + 52,
        1023 - 126, 1023 - 127, 1023 - 140, 1023 - 149, 1023 - 150, 1023 + 127,
        1023 + 128, 1, 0, 2046, 2045, 1023 + 511, 1023 - 511, 1023 + 64,
    };
    u64 r = next();
    u64 sign = (r >> 63) << 63;
    int e = exps[(r >> 32) % (sizeof(exps) / sizeof(exps[0]))];
    u64 frac = next() & 0xfffffffffffffULL;
    switch ((r >> 8) & 7) {
    case 0: /* few fraction bits: exact-ish results */
        frac &= 0xfff0000000000ULL;
        break;
    case 1: /* single-precision fraction */
        frac &= ~((1ULL << 29) - 1);
        break;
    case 2: /* single-precision tie and its neighbours */
        frac = (frac & ~((1ULL << 29) - 1)) | (1ULL << 28) | ((r >> 16) & 1);
        break;
    default:
        break;
    }
    return sign | ((u64)e << 52) | frac;
}

static void run_random(const struct op *op, u32 cfg)
{
    u64 a = rand_val(), b = rand_val(), c = rand_val();
    if (op->arity == 3 && (next() & 1)) {
        /* b close to -(a*c): cancellation in the fused forms. */
        volatile double pa, pc;
        union { double d; u64 u; } u;
        *(u64 *)&pa = a;
        *(u64 *)&pc = c;
        u.d = -(pa * pc);
        b = u.u ^ (next() & 0xff);
        if (op->name[1] == 'm' && op->name[2] == 's') {
            b ^= 1ULL << 63; /* fmsub: b close to +(a*c) */
        }
        if (op->name[1] == 'n' && op->name[3] == 's') {
            b ^= 1ULL << 63;
        }
    }
    if (op->arity == 2 && (next() & 1)) {
        /* Nearby magnitudes: cancellation in add/sub. */
        b = (a ^ (next() & 0xfffff)) ^ ((next() & 1) << 63);
    }
    run(op, cfg, a, b, c);
}

static void test_ops(void)
{
    for (unsigned o = 0; o < NOPS; o++) {
        const struct op *op = &ops[o];
        for (unsigned k = 0; k < NCFG; k++) {
            u32 cfg = cfgs[k];
            switch (op->arity) {
            case 1:
                for (unsigned j = 0; j < NEDGE; j++) {
                    run(op, cfg, 0x3ff0000000000000ULL, edge[j], 0);
                }
                break;
            case 2:
            case 4:
                for (unsigned i = 0; i < NEDGE; i++) {
                    for (unsigned j = 0; j < NEDGE; j++) {
                        run(op, cfg, edge[i], edge[j], 0);
                    }
                }
                break;
            case 5: /* fmul: frA * frC */
                for (unsigned i = 0; i < NEDGE; i++) {
                    for (unsigned j = 0; j < NEDGE; j++) {
                        run(op, cfg, edge[i], 0, edge[j]);
                    }
                }
                break;
            case 3:
                if (k >= 8 && k != 10 && k != 12) {
                    break;
                }
                for (unsigned i = 0; i < NEDGE3; i++) {
                    for (unsigned j = 0; j < NEDGE3; j++) {
                        for (unsigned l = 0; l < NEDGE3; l++) {
                            run(op, cfg, edge3[i], edge3[j], edge3[l]);
                        }
                    }
                }
                break;
            }
        }
        for (u32 rn = 0; rn < 4; rn++) {
            for (int n = 0; n < 4000; n++) {
                run_random(op, rn);
            }
            for (int n = 0; n < 500; n++) {
                run_random(op, rn | 0xf8);
                run_random(op, rn | 0x60);
            }
        }
        flush();
    }
}

/* FPSCR values to start the mtfs* tests from (no enabled exception pending). */
static const u32 fpscr_starts[] = {
    0x00000000, 0xbff80000, 0x9ffff700, 0x00000ff3, 0x01000000,
    0x82000004, 0x20000000, 0x400000f8, 0x00000800, 0xfff7f7ff,
};
#define NSTART (sizeof(fpscr_starts) / sizeof(fpscr_starts[0]))

static const u64 mtfsf_vals[] = {
    0, 0xffffffffffffffffULL, 0xfff80000ffffffffULL, 0x00000000bff80000ULL,
    0x0000000002000008ULL, 0x0000000020000080ULL, 0x0000000001000080ULL,
    0x0000000040000000ULL, 0x0000000080000000ULL, 0x0000000000000800ULL,
    0x0000000010000040ULL, 0x0000000000000003ULL, 0x00000000000000f8ULL,
    0x0000000000001f00ULL, 0x0000000004000010ULL,
};
#define NMTFSF (sizeof(mtfsf_vals) / sizeof(mtfsf_vals[0]))

/* mtfsb0/mtfsb1 crbD and mtfsfi BF,U need one instruction each. */
#define BIT_STUBS(n) STUB(s_mtfsb0_##n, "mtfsb0 " #n) STUB(s_mtfsb1_##n, "mtfsb1 " #n)
BIT_STUBS(0) BIT_STUBS(1) BIT_STUBS(2) BIT_STUBS(3) BIT_STUBS(4) BIT_STUBS(5)
BIT_STUBS(6) BIT_STUBS(7) BIT_STUBS(8) BIT_STUBS(9) BIT_STUBS(10) BIT_STUBS(11)
BIT_STUBS(12) BIT_STUBS(13) BIT_STUBS(14) BIT_STUBS(15) BIT_STUBS(16) BIT_STUBS(17)
BIT_STUBS(18) BIT_STUBS(19) BIT_STUBS(20) BIT_STUBS(21) BIT_STUBS(22) BIT_STUBS(23)
BIT_STUBS(24) BIT_STUBS(25) BIT_STUBS(26) BIT_STUBS(27) BIT_STUBS(28) BIT_STUBS(29)
BIT_STUBS(30) BIT_STUBS(31)

#define FI_STUBS(bf)                                                          \
    STUB(s_mtfsfi_##bf##_0, "mtfsfi " #bf ",0")                               \
    STUB(s_mtfsfi_##bf##_1, "mtfsfi " #bf ",1")                               \
    STUB(s_mtfsfi_##bf##_6, "mtfsfi " #bf ",6")                               \
    STUB(s_mtfsfi_##bf##_8, "mtfsfi " #bf ",8")                               \
    STUB(s_mtfsfi_##bf##_9, "mtfsfi " #bf ",9")                               \
    STUB(s_mtfsfi_##bf##_15, "mtfsfi " #bf ",15")
FI_STUBS(0) FI_STUBS(1) FI_STUBS(2) FI_STUBS(3) FI_STUBS(4) FI_STUBS(5)
FI_STUBS(6) FI_STUBS(7)

#define BIT_OPS(n) { "mtfsb0_" #n, s_mtfsb0_##n, s_mtfsb0_##n##_resume, 0 }, \
                   { "mtfsb1_" #n, s_mtfsb1_##n, s_mtfsb1_##n##_resume, 0 },
#define FI_OP(bf, u) { "mtfsfi_" #bf "_" #u, s_mtfsfi_##bf##_##u, s_mtfsfi_##bf##_##u##_resume, 0 },
#define FI_OPS(bf) FI_OP(bf, 0) FI_OP(bf, 1) FI_OP(bf, 6) FI_OP(bf, 8) FI_OP(bf, 9) FI_OP(bf, 15)

static const struct op fpscr_ops[] = {
    BIT_OPS(0) BIT_OPS(1) BIT_OPS(2) BIT_OPS(3) BIT_OPS(4) BIT_OPS(5) BIT_OPS(6)
    BIT_OPS(7) BIT_OPS(8) BIT_OPS(9) BIT_OPS(10) BIT_OPS(11) BIT_OPS(12) BIT_OPS(13)
    BIT_OPS(14) BIT_OPS(15) BIT_OPS(16) BIT_OPS(17) BIT_OPS(18) BIT_OPS(19) BIT_OPS(20)
    BIT_OPS(21) BIT_OPS(22) BIT_OPS(23) BIT_OPS(24) BIT_OPS(25) BIT_OPS(26) BIT_OPS(27)
    BIT_OPS(28) BIT_OPS(29) BIT_OPS(30) BIT_OPS(31)
    FI_OPS(0) FI_OPS(1) FI_OPS(2) FI_OPS(3) FI_OPS(4) FI_OPS(5) FI_OPS(6) FI_OPS(7)
    { "mffs", s_mffs, s_mffs_resume, 0 },
};
#define NFPSCR_OPS (sizeof(fpscr_ops) / sizeof(fpscr_ops[0]))

static const struct op mtfsf_ops[] = {
    { "mtfsf_ff", s_mtfsf_ff, s_mtfsf_ff_resume, 0 },
    { "mtfsf_80", s_mtfsf_80, s_mtfsf_80_resume, 0 },
    { "mtfsf_7f", s_mtfsf_7f, s_mtfsf_7f_resume, 0 },
    { "mtfsf_01", s_mtfsf_01, s_mtfsf_01_resume, 0 },
    { "mtfsf_c3", s_mtfsf_c3, s_mtfsf_c3_resume, 0 },
};

static void test_fpscr(void)
{
    for (unsigned k = 0; k < NSTART; k++) {
        for (unsigned o = 0; o < NFPSCR_OPS; o++) {
            run(&fpscr_ops[o], fpscr_starts[k], 0, 0, 0);
        }
        for (unsigned o = 0; o < sizeof(mtfsf_ops) / sizeof(mtfsf_ops[0]); o++) {
            for (unsigned v = 0; v < NMTFSF; v++) {
                run(&mtfsf_ops[o], fpscr_starts[k], 0, mtfsf_vals[v], 0);
            }
        }
    }
    flush();
}

void cmain(void)
{
    struct k_sigaction sa = { on_signal, 0, 0, { 0, 0 } };
    sys4(173, 8, (long)&sa, 0, 8); /* rt_sigaction(SIGFPE, &sa, 0, 8) */
    sys4(173, 4, (long)&sa, 0, 8); /* SIGILL: fsqrt is not a 750 instruction */
    test_ops();
    test_fpscr();
    flush();
    sys3(1, 0, 0, 0);
}

asm(".text\n.globl _start\n_start:\n"
    "li 0,0\nstwu 0,-64(1)\n"
    "bl cmain\n"
    "li 0,1\nli 3,0\nsc\n");
