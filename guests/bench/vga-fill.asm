; vga-fill.asm -- the cost of filling a graphics screen: sets MODE through the BIOS (12h,
; 640x480x16 in planes, by default; vga-fill13.asm asks for 13h, plain memory) and fills the
; whole screen FILLS times with rep stosw (in mode 12h through the map mask, all four planes
; at once: 38,400 bytes a fill; in mode 13h 64,000 bytes), then exits through
; isa-debug-exit with 0x10. Under KVM every planar byte written is an MMIO exit (a word is
; one); mode 13h costs none.
%include "picovmm.inc"

%ifndef MODE
%define MODE 0x12
%endif
%if MODE == 0x13
%define FILL_WORDS 32000
%else
%define FILL_WORDS 19200
%endif
FILLS equ 4

[BITS 16]
[ORG 0x7C00]

start:
    cld
    mov ax, MODE
    int 0x10
    mov ax, 0xA000
    mov es, ax
    mov dx, 0x3C4               ; map mask: all planes (ignored by mode 13h's memory)
    mov ax, 0x0F02
    out dx, ax
    mov bx, FILLS
.fill:
    xor di, di
    mov ax, bx
    mov ah, al
    mov cx, FILL_WORDS
    rep stosw
    dec bx
    jnz .fill
    EXIT 0x10

BOOT_SIGNATURE
