; port-sweep.asm -- writes and then reads every port from 0x0000 to 0xFFFF, except the default
; machine's devices: the PIC pair and ELCR, the PIT and port 0x61, the i8042, the RTC, the debug console,
; isa-debug-exit, COM1 and the VGA registers the BIOS brings (the table below). Every unclaimed read must give 0xFF. Reports on
; the debug console and exits with 0x10 (all 0xFF) or 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    xor bx, bx                  ; reads that were not 0xFF
    xor dx, dx                  ; the port
.port:
    mov si, claimed
.skip:
    lodsw                       ; first port of a claimed range
    mov cx, ax
    lodsw                       ; its length; 0 ends the table
    test ax, ax
    jz .probe
    add ax, cx                  ; end of the range
    cmp dx, cx
    jb .skip
    cmp dx, ax
    jae .skip
    jmp .next
.probe:
    mov al, 0x5A
    out dx, al
    in al, dx
    cmp al, 0xFF
    je .next
    inc bx
.next:
    inc dx
    jnz .port                   ; until DX wraps to 0
    test bx, bx
    jnz .bad
    PRINT good
    EXIT 0x10
.bad:
    PRINT bad
    EXIT 0x11

DEBUGCON_PRINT_ROUTINE

claimed:                        ; first port, length
    dw 0x20, 2, 0xA0, 2, 0x4D0, 2   ; PIC master, slave, ELCR
    dw 0x40, 4, 0x61, 1             ; PIT, speaker port
    dw 0x60, 1, 0x64, 1, 0x92, 1    ; i8042, fast A20
    dw 0x70, 2                      ; RTC and CMOS
    dw DEBUGCON_PORT, 1, DEBUG_EXIT_PORT, 4, COM1_PORT, 8
    dw 0x3C0, 0x20, 0x1CE, 3       ; VGA registers, the VESA display's
    dw 0, 0

good: db "all 65472 ports swept; unclaimed reads gave 0xff", 10, 0
bad:  db "an unclaimed port read did not give 0xff", 10, 0

BOOT_SIGNATURE
