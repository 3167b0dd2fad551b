; x87-real.asm -- the x87 from real mode, as DOS programs use it: the classic probe for a
; coprocessor (FNINIT, then FNSTSW and FNSTCW must read 0 and 0x037F), FWAIT and FNCLEX
; (what MS-DOS 7.10's EXTRACT.EXE starts with), then sqrt(2) * 1e6 stored as an integer
; (1414214), pi loaded and stored as a double, and an integer division of -7 by 2 rounded
; down under a control word of its own. Prints a line each on the debug console and exits
; through isa-debug-exit with 0x48 (status 145).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov word [status], 0x5A5A
    fninit
    fnstsw [status]
    fnstcw [control]
    cmp word [status], 0
    jne wrong
    cmp word [control], 0x037F
    jne wrong
    PRINT msg_probe
    fwait
    fnclex
    fild dword [two]
    fsqrt
    fimul dword [million]
    fistp dword [result]
    cmp dword [result], 1414214
    jne wrong
    PRINT msg_sqrt
    fldpi
    fstp qword [pi]
    cmp dword [pi + 4], 0x400921FB
    jne wrong
    cmp dword [pi], 0x54442D18
    jne wrong
    PRINT msg_pi
    fldcw [down]                ; round toward negative infinity
    fild word [minus_seven]
    fidiv word [two]
    fistp word [quotient]
    cmp word [quotient], -4
    jne wrong
    PRINT msg_floor
    EXIT 0x48
wrong:
    PRINT msg_wrong
    EXIT 0x01

DEBUGCON_PRINT_ROUTINE

status:      dw 0
control:     dw 0
two:         dd 2
million:     dd 1000000
result:      dd 0
pi:          dq 0
down:        dw 0x077F
minus_seven: dw -7
quotient:    dw 0

msg_probe: db "x87 found: status 0000, control 037f", 10, 0
msg_sqrt:  db "sqrt(2) * 1e6 = 1414214", 10, 0
msg_pi:    db "pi as a double: 400921fb54442d18", 10, 0
msg_floor: db "-7 / 2 rounded down = -4", 10, 0
msg_wrong: db "x87 went wrong", 10, 0

BOOT_SIGNATURE
