; stepping.asm -- a boot sector for the debugger's stepi tests: each instruction a step must
; treat exactly stands at an address of its own, so a test breaks on it, steps once and reads
; where the guest stopped:
;   0x7C40  out dx, al       -> 0x7C41          0x7C70  ud2 (#UD)     -> 0x7D40, its handler
;   0x7C50  outsb            -> 0x7C51          0x7C80  rep movsb     -> 0x7C82, CX = 0
;   0x7C60  div bl (#DE)     -> 0x7D00, its handler
; The handlers skip the faulting instruction and note whether the FLAGS image the CPU pushed
; has TF set; at the end the guest checks its own `pushf`. It prints what it saw and exits with
; 0x10 when nothing a debugger did leaked into the guest (TF clear everywhere), else 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov word [0 * 4], de_handler
    mov word [0 * 4 + 2], 0
    mov word [6 * 4], ud_handler
    mov word [6 * 4 + 2], 0
    mov dx, DEBUGCON_PORT
    mov al, '['
    mov si, bracket
    xor bx, bx                  ; BL = 0: div bl divides by zero
    jmp out_step

    times 0x40 - ($ - $$) nop
out_step:                       ; 0x7C40
    out dx, al
    jmp outs_step

    times 0x50 - ($ - $$) nop
outs_step:                      ; 0x7C50
    outsb
    jmp div_step

    times 0x60 - ($ - $$) nop
div_step:                       ; 0x7C60
    div bl
    jmp ud_step

    times 0x70 - ($ - $$) nop
ud_step:                        ; 0x7C70
    ud2
    mov cx, 16                  ; rep movsb copies 16 bytes from 0x7E00 to 0x8000
    mov si, 0x7E00
    mov di, 0x8000
    jmp movs_step

    times 0x80 - ($ - $$) nop
movs_step:                      ; 0x7C80
    rep movsb
    pushf
    pop ax
    test ax, 0x0100
    jnz .leaked
    cmp byte [tf_seen], 0
    jne .leaked
    PRINT clean
    EXIT 0x10
.leaked:
    PRINT leaked
    EXIT 0x11

    times 0x100 - ($ - $$) nop
de_handler:                     ; 0x7D00
    push bp
    mov bp, sp
    add word [bp + 2], 2        ; past `div bl`
    jmp handler_common

    times 0x140 - ($ - $$) nop
ud_handler:                     ; 0x7D40
    push bp
    mov bp, sp
    add word [bp + 2], 2        ; past `ud2`
handler_common:
    test word [bp + 6], 0x0100  ; TF in the pushed FLAGS image
    jz .clear
    mov byte [tf_seen], 1
.clear:
    pop bp
    iret

tf_seen: db 0
bracket: db ']'
clean:  db "] no trap flag reached the guest", 10, 0
leaked: db "] the trap flag leaked into the guest", 10, 0

DEBUGCON_PRINT_ROUTINE
BOOT_SIGNATURE
