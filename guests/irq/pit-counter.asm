; pit-counter.asm -- reads the 8254 as games and delay loops do: channel 0's live count through
; the latch command must fall from one read to the next; channel 2, gated on through port 0x61 in mode 0, must raise its
; output (port 0x61 bit 5) after its count; port 0x61's refresh bit must toggle. No interrupt is
; used. Prints what held and exits with 0x10, or 0x11 at the first check that failed.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    PIT_CHANNEL0 2, 0           ; mode 2, count 65536 (55 ms a period)
    ; Eight latched reads in a row: each must be a little below the one before (by less than
    ; half a period; a read the host delays by more may wrap, so most, not all, must fall).
    call latch_read
    mov si, ax                  ; the previous count
    xor bx, bx                  ; pairs that fell
    mov cx, 8
.read:
    call latch_read
    mov dx, si
    sub dx, ax                  ; how far it fell (mod 65536)
    mov si, ax
    jz .next_read
    cmp dx, 0x8000
    jae .next_read
    inc bx
.next_read:
    loop .read
    cmp bx, 5
    jb .bad
    PRINT falls

    ; Channel 2: gate on, speaker off, mode 0 with 0xFFFF counts (55 ms).
    mov al, 0x01
    out PORT_B, al
    mov al, 0xB0                ; channel 2, LSB then MSB, mode 0
    out PIT_CMD, al
    mov al, 0xFF
    out PIT_CH2, al
    out PIT_CH2, al
    in al, PORT_B
    test al, 0x20               ; output low right after the count is written
    jnz .bad
    mov bx, 64                  ; at most 64 x 65535 polls, whatever the CPU's speed
.outer:
    mov cx, 0xFFFF
.poll:
    in al, PORT_B
    test al, 0x20
    jnz .rose
    loop .poll
    dec bx
    jnz .outer
    jmp .bad
.rose:
    PRINT rose
    in al, PORT_B
    mov ah, al
    in al, PORT_B
    xor al, ah
    test al, 0x10               ; the refresh bit changed between two reads
    jz .bad
    PRINT toggles
    EXIT 0x10
.bad:
    PRINT bad
    EXIT 0x11

; latch_read: channel 0's count, latched (AX).
latch_read:
    mov al, 0x00                ; latch channel 0
    out PIT_CMD, al
    in al, PIT_CH0
    mov ah, al
    in al, PIT_CH0
    xchg al, ah
    ret

DEBUGCON_PRINT_ROUTINE

falls:   db "channel 0 counts down", 10, 0
rose:    db "channel 2 output rose", 10, 0
toggles: db "refresh bit toggles", 10, 0
bad:     db "PIT check failed", 10, 0

BOOT_SIGNATURE
