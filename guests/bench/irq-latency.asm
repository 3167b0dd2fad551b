; irq-latency.asm -- timer interrupt latency, measured by the guest with the PIT itself: channel
; 0 runs in mode 2 at 100 Hz, and the handler latches the live count as its first act. The
; count falls from 11932 at the IRQ 0 edge, so 11932 - count is the time from the edge to the
; handler (in 1.193182 MHz ticks, plus the latch's own port exit). 100 ticks idling in `hlt`,
; then 100 spinning in guest code (so the vCPU must be kicked out of the guest). Prints
; "idle AVG MAX busy AVG MAX" in hex ticks on the debug console and exits with 0x10.
%include "picovmm.inc"
%include "pc.inc"

COUNT equ 11932
ROUND equ 100

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x08, tick
    PIT_CHANNEL0 2, COUNT
    UNMASK 0
    sti
.idle:
    hlt
    cmp word [ticks], ROUND
    jb .idle
    call report_idle
.busy:
    cmp word [ticks], 2 * ROUND
    jb .busy
    cli
    call report_busy
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10

report_idle:
    PRINT idle
    jmp report
report_busy:
    PRINT busy
report:
    mov eax, [sum]
    xor edx, edx
    mov ecx, ROUND
    div ecx
    call print_word
    mov ax, [max]
    call print_word
    mov dword [sum], 0
    mov word [max], 0
    ret

; print_word: AX in hex, high byte first, then a space.
print_word:
    push ax
    mov al, ah
    call print_hex_digits
    pop ax
    call print_hex
    ret

print_hex_digits:               ; AL as two hex digits, no space
    push ax
    mov ah, al
    shr al, 4
    mov bx, hex_digits
    xlatb
    out DEBUGCON_PORT, al
    mov al, ah
    and al, 0x0F
    xlatb
    out DEBUGCON_PORT, al
    pop ax
    ret

tick:
    push ax
    push dx
    mov al, 0x00                ; latch channel 0 first: the measurement
    out PIT_CMD, al
    in al, PIT_CH0
    mov ah, al
    in al, PIT_CH0
    xchg al, ah
    mov dx, COUNT
    sub dx, ax                  ; ticks since the edge
    movzx eax, dx
    add [sum], eax
    cmp dx, [max]
    jbe .counted
    mov [max], dx
.counted:
    inc word [ticks]
    EOI
    pop dx
    pop ax
    iret

DEBUGCON_PRINT_ROUTINE
PRINT_HEX_ROUTINE

ticks: dw 0
max:   dw 0
sum:   dd 0
idle:  db "idle ", 0
busy:  db "busy ", 0

BOOT_SIGNATURE
