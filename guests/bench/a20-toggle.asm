; a20-toggle.asm -- the cost of switching the A20 gate: 1,000 times off and on through port
; 0x92 (as HIMEM.SYS does around its tests), then exits through isa-debug-exit with 0x10.
%include "picovmm.inc"

TOGGLES equ 1000

[BITS 16]
[ORG 0x7C00]

start:
    mov cx, TOGGLES
.toggle:
    in al, 0x92
    and al, 0xFC
    out 0x92, al                ; off
    or al, 0x02
    out 0x92, al                ; on
    loop .toggle
    EXIT 0x10

BOOT_SIGNATURE
