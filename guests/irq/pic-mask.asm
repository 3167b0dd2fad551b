; pic-mask.asm -- masking works: with IRQ 0 masked no tick arrives but the request waits in the
; IRR (read through OCW3); unmasked, ticks arrive; masked again, they stop. Exits with 0x10, or
; 0x11 at the first check that failed.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x08, tick
    PIT_CHANNEL0 2, 1193        ; 1 kHz
    sti
    ; The masked tick must reach the IRR: wait for it, 5 ms at a time, at most 200 ms (the
    ; host's timer thread may be late on a busy machine), and no tick may be taken meanwhile.
    mov si, 40
.wait_irr:
    call wait_5ms
    cmp word [ticks], 0
    jne .bad
    mov al, 0x0A                ; OCW3: read IRR
    out PIC1_CMD, al
    in al, PIC1_CMD
    test al, 0x01
    jnz .irr_set
    dec si
    jnz .wait_irr
    jmp .bad
.irr_set:
    PRINT masked
    UNMASK 0
    hlt                         ; the waiting request arrives
    cmp word [ticks], 0
    je .bad
    mov si, 40                  ; at least two ticks within 200 ms
.wait_ticks:
    call wait_5ms
    cmp word [ticks], 2
    jae .ticking
    dec si
    jnz .wait_ticks
    jmp .bad
.ticking:
    PRINT unmasked
    MASK 0
    mov dx, [ticks]
    call wait_5ms
    cmp dx, [ticks]
    jne .bad
    PRINT stopped
    EXIT 0x10
.bad:
    PRINT bad
    EXIT 0x11

; wait_5ms: 5 ms by the PIT, whatever the CPU's speed: channel 2 counts 5966 ticks in mode 0
; and its output (port 0x61 bit 5) rises when it is done (clobbers CX).
wait_5ms:
    push ax
    push bx
    mov al, 0x01                ; gate channel 2 on, speaker off
    out PORT_B, al
    mov al, 0xB0                ; channel 2, LSB then MSB, mode 0
    out PIT_CMD, al
    mov al, 0x4E                ; 5966 = 0x174E
    out PIT_CH2, al
    mov al, 0x17
    out PIT_CH2, al
    mov bx, 64                  ; at most 64 x 65535 polls
.outer:
    mov cx, 0xFFFF
.loop:
    in al, PORT_B
    test al, 0x20
    jnz .done
    loop .loop
    dec bx
    jnz .outer
.done:
    pop bx
    pop ax
    ret

tick:
    push ax
    inc word [ticks]
    EOI
    pop ax
    iret

DEBUGCON_PRINT_ROUTINE

ticks:    dw 0
masked:   db "masked: no tick, IRR holds it", 10, 0
unmasked: db "unmasked: ticks", 10, 0
stopped:  db "masked again: ticks stop", 10, 0
bad:      db "PIC mask check failed", 10, 0

BOOT_SIGNATURE
