; v86-bios.asm -- a protected-mode monitor that runs real-mode code in virtual-8086 mode and
; reflects its `int 10h` to the BIOS, as EMM386 and JemmEx do for DOS: a GDT, a TSS with ring
; 0's stack and an I/O bitmap that lets every port through, an IDT whose vector 10h (a DPL-3
; gate) builds a real-mode interrupt frame on the virtual-8086 stack and enters the BIOS's
; handler at the IVT's address. The virtual-8086 code prints a line with int 10h AH=0Eh and
; exits through isa-debug-exit with 0x56 (status 173); a #GP (anything else the monitor does
; not expect) exits with 0x01.
%include "picovmm.inc"

IDT      equ 0x1000
TSS      equ 0x2000             ; 104 bytes, then the I/O bitmap (8 KiB of zeros, then 0xFF)
STACK0   equ 0x90000
V86_SP   equ 0x7000
IOMAP    equ 0x68

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov al, 0xFF                ; no device interrupts in this test
    out 0x21, al
    out 0xA1, al
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:protected

; The real-mode code the monitor runs in virtual-8086 mode.
v86_code:
    mov si, message
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    mov bx, 0x0007
    int 0x10
    jmp .next
.done:
    mov al, 0x56
    out DEBUG_EXIT_PORT, al
    hlt

[BITS 32]
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0
    mov edi, TSS                ; the TSS and its bitmap: all zeros but the end marker
    xor eax, eax
    mov ecx, (IOMAP + 8192) / 4
    rep stosd
    mov byte [TSS + IOMAP + 8192], 0xFF
    mov dword [TSS + 4], STACK0
    mov dword [TSS + 8], 0x10
    mov word [TSS + 0x66], IOMAP
    mov ebx, 0x10
    mov eax, reflect_int10
    mov dl, 0xEE                ; DPL 3: virtual-8086 code may `int 10h` (IOPL 3)
    call set_gate
    mov ebx, 13
    mov eax, general_protection
    mov dl, 0x8E
    call set_gate
    lidt [idt_descriptor]
    mov ax, 0x18
    ltr ax
    push dword 0                ; GS, FS, DS, ES of the virtual-8086 task
    push dword 0
    push dword 0
    push dword 0
    push dword 0                ; SS:SP
    push dword V86_SP
    push dword 0x00023002       ; VM, IOPL 3, interrupts off
    push dword 0                ; CS:IP
    push dword v86_code
    iretd

; Gate EBX to the handler at EAX with type and attributes DL.
set_gate:
    lea edi, [IDT + ebx * 8]
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov byte [edi + 4], 0
    mov [edi + 5], dl
    shr eax, 16
    mov [edi + 6], ax
    ret

; int 10h from virtual-8086 mode: push FLAGS, CS, IP on its stack as a real-mode `int` does,
; and return into the BIOS's handler (IVT entry 10h) with IF and TF clear.
reflect_int10:
    pushad                      ; the virtual-8086 code's registers are its own
    lea ebp, [esp + 32]         ; EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
    movzx eax, word [ebp + 16]
    shl eax, 4
    movzx ebx, word [ebp + 12]
    sub bx, 6
    mov [ebp + 12], ebx
    add eax, ebx
    mov cx, [ebp + 0]
    mov [eax], cx
    mov cx, [ebp + 4]
    mov [eax + 2], cx
    mov cx, [ebp + 8]
    mov [eax + 4], cx
    movzx ecx, word [0x10 * 4]
    mov [ebp + 0], ecx
    movzx ecx, word [0x10 * 4 + 2]
    mov [ebp + 4], ecx
    and dword [ebp + 8], ~0x300
    popad
    iretd

general_protection:
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

message: db "printed from virtual-8086 mode through the BIOS", 13, 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08 code
    dq 0x00CF92000000FFFF       ; 0x10 data
    dw IOMAP + 8192, TSS        ; 0x18 the TSS, its bitmap included
    db 0, 0x89, 0, 0
gdt_descriptor:
    dw 4 * 8 - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd IDT

BOOT_SIGNATURE
