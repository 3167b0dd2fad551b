; long-by-hand.asm -- a boot sector that enters long mode by its own hand, as tutorials do:
; checks CPUID for long mode, builds identity page tables (one 2 MiB page), sets CR4.PAE,
; EFER.LME with rdmsr/wrmsr, CR0.PG|PE, and far-jumps to 64-bit code, which checks EFER.LMA,
; prints through the debug console and exits through isa-debug-exit with 0x64.
%include "picovmm.inc"

PML4 equ 0x1000
PDPT equ 0x2000
PD   equ 0x3000
EFER equ 0xC0000080

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov eax, 0x80000000         ; highest extended leaf
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29           ; LM
    jz .no_long_mode
    PRINT cpuid_ok
    mov di, PML4                ; clear the three tables
    mov cx, 3 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PDPT | 3  ; present, writable
    mov dword [PDPT], PD | 3
    mov dword [PD], 0x83        ; 2 MiB page at 0: present, writable, large
    mov eax, PML4
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5              ; PAE
    mov cr4, eax
    mov ecx, EFER
    rdmsr
    or eax, 1 << 8              ; LME
    wrmsr
    PRINT wrmsr_ok
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 0x80000001          ; PG | PE
    mov cr0, eax
    jmp CODE64:long_mode
.no_long_mode:
    PRINT no_long_mode
    EXIT 0x01

DEBUGCON_PRINT_ROUTINE

[BITS 64]
long_mode:
    mov ax, DATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov ecx, EFER
    rdmsr
    test eax, 1 << 10           ; LMA
    jz .not_active
    mov rsi, in_long_mode
.print:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp .print
.done:
    EXIT 0x64
.not_active:
    EXIT 0x02

align 8
gdt:
    dq 0                        ; null
    dq 0x00AF9A000000FFFF       ; 0x08: 64-bit code, present, ring 0
    dq 0x00CF92000000FFFF       ; 0x10: data
gdt_end:
CODE64 equ 0x08
DATA64 equ 0x10
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

cpuid_ok:     db "cpuid: long mode available", 10, 0
wrmsr_ok:     db "wrmsr: EFER.LME set", 10, 0
no_long_mode: db "cpuid: no long mode", 10, 0
in_long_mode: db "long mode by hand: EFER.LMA=1, 64-bit code", 10, 0
