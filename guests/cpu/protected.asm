; protected.asm -- a boot image that takes the 386's protected mode as a small kernel does:
; its own GDT and IDT, `int 30h`, a #GP on a bad selector, 32-bit paging without PAE (4 KiB
; pages and a 4 MiB one), a page fault whose handler maps the page, ring 3 through a TSS (an
; `int 30h` from ring 3 on the ring-0 stack, a `cli` that faults), and last a double fault
; (the page-fault gate taken away). Each step prints a line on the debug console; the double
; fault's handler exits through isa-debug-exit with 0x33, any other end with 0x01.
; picovmm loads the whole image at 0x7C00 (`picovmm run --image`).
%include "picovmm.inc"

IDT      equ 0x1000             ; 256 gates
PD       equ 0x10000            ; the page directory
PT       equ 0x11000            ; the page table of the first 4 MiB
STACK0   equ 0x90000            ; ring 0's stack
STACK3   equ 0x8F000            ; ring 3's stack
HOLE     equ 0x200000           ; a linear page the tables leave out, mapped by the #PF handler
FRAME    equ 0x50000            ; where the handler maps it
MISSING  equ 0x300000           ; a linear page never mapped
BIG      equ 0x800000           ; a 4 MiB page onto physical 0

CODE0 equ 0x08
DATA0 equ 0x10
CODE3 equ 0x1B                  ; ring-3 selectors (RPL 3)
DATA3 equ 0x23
TSS_SEL equ 0x28

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1                    ; PE
    mov cr0, eax
    jmp CODE0:protected

[BITS 32]
protected:
    mov ax, DATA0
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0
    call build_idt
    lidt [idt_descriptor]
    mov esi, msg_protected
    call print

    xor eax, eax                ; int n: the handler answers in EAX
    int 0x30
    cmp eax, 0x1234ABCD
    jne fail
    mov esi, msg_int
    call print

    mov ax, 0x48                ; past the GDT's limit: #GP(0x48), the handler skips it
    mov ds, ax
    cmp dword [gp_code], 0x48
    jne fail
    mov esi, msg_gp
    call print

    call build_tables
    mov eax, cr4
    or eax, 1 << 4              ; PSE: 4 MiB pages
    mov cr4, eax
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 1 << 31             ; PG, without PAE
    mov cr0, eax
    mov esi, msg_paging
    call print

    mov dword [HOLE + 4], 0xCAFEF00D   ; not present: #PF, mapped by the handler, again
    cmp dword [pf_code], 2      ; a write to a page not present, by the supervisor
    jne fail
    cmp dword [pf_address], HOLE + 4
    jne fail
    cmp dword [FRAME + 4], 0xCAFEF00D
    jne fail
    test dword [PT + (HOLE >> 12) * 4], 1 << 6   ; the write set the dirty bit
    jz fail
    mov esi, msg_pf
    call print

    mov eax, [BIG + 0x7C00]     ; the 4 MiB page shows physical 0
    cmp eax, [0x7C00]
    jne fail
    test dword [PD + (BIG >> 22) * 4], 1 << 5    ; accessed
    jz fail
    mov esi, msg_big
    call print
    jmp to_ring3

; Ring 3 through the TSS: ring 0's stack for interrupts from ring 3.
to_ring3:
    mov eax, tss
    mov [gdt_tss + 2], ax
    shr eax, 16
    mov [gdt_tss + 4], al
    mov [gdt_tss + 7], ah
    mov dword [tss + 4], STACK0 ; ESP0
    mov dword [tss + 8], DATA0  ; SS0
    mov ax, TSS_SEL
    ltr ax
    push dword DATA3
    push dword STACK3
    push dword 0x002            ; IF clear
    push dword CODE3
    push dword ring3
    iretd

ring3:
    mov ax, DATA3
    mov ds, ax
    mov es, ax
    xor eax, eax
    int 0x30                    ; a DPL-3 gate: on ring 0's stack, back to ring 3
    mov [ring3_eax], eax
    cli                         ; CPL 3 > IOPL 0: #GP, whose handler goes on in ring 0
    jmp $

after_ring3:
    mov ax, DATA0
    mov ds, ax
    mov es, ax
    cmp dword [ring3_eax], 0x1234ABCD
    jne fail
    cmp dword [seen_cs], CODE3
    jne fail
    cmp dword [seen_ss], DATA3
    jne fail
    cmp dword [seen_esp], STACK0 - 5 * 4   ; EIP, CS, EFLAGS, ESP, SS on ring 0's stack
    jne fail
    mov esi, msg_ring3
    call print

    and byte [IDT + 14 * 8 + 5], 0x7F  ; the #PF gate not present: #PF, #NP, so #DF
    mov eax, [MISSING]
fail:
    mov esi, msg_fail
    call print
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

; The IDT: every vector to `unexpected`, then the ones this kernel takes.
build_idt:
    xor ebx, ebx
.all:
    mov eax, unexpected
    mov dl, 0x8E                ; a 32-bit interrupt gate, DPL 0
    call set_gate
    inc ebx
    cmp ebx, 256
    jb .all
    mov ebx, 0x30
    mov eax, int30
    mov dl, 0xEE                ; DPL 3: ring 3 may `int 30h`
    call set_gate
    mov ebx, 8
    mov eax, double_fault
    mov dl, 0x8E
    call set_gate
    mov ebx, 13
    mov eax, general_protection
    call set_gate
    mov ebx, 14
    mov eax, page_fault
    call set_gate
    ret

; Gate EBX to handler EAX with type and attributes DL.
set_gate:
    lea edi, [IDT + ebx * 8]
    mov [edi], ax
    mov word [edi + 2], CODE0
    mov byte [edi + 4], 0
    mov [edi + 5], dl
    shr eax, 16
    mov [edi + 6], ax
    ret

; The page directory: the first 4 MiB through PT (all but HOLE and MISSING, user pages), and
; a 4 MiB page at BIG onto physical 0.
build_tables:
    mov edi, PD
    xor eax, eax
    mov ecx, 2048               ; PD and PT
    rep stosd
    mov dword [PD], PT | 7      ; present, writable, user
    mov dword [PD + (BIG >> 22) * 4], 0x87  ; a large page, present, writable, user
    mov edi, PT
    mov eax, 7
    mov ecx, 1024
.map:
    stosd
    add eax, 4096
    loop .map
    mov dword [PT + (HOLE >> 12) * 4], 0
    mov dword [PT + (MISSING >> 12) * 4], 0
    ret

int30:
    mov eax, [esp + 4]          ; the interrupted CS
    mov [seen_cs], eax
    mov eax, [esp + 16]         ; from ring 3: its SS
    mov [seen_ss], eax
    mov [seen_esp], esp
    mov eax, 0x1234ABCD
    iretd

general_protection:
    pop dword [gp_code]
    test byte [esp + 4], 3      ; from ring 3: that was the `cli`
    jnz .ring3
    add dword [esp], 2          ; skip the 2-byte `mov ds, ax`
    iretd
.ring3:
    mov esp, STACK0
    jmp after_ring3

page_fault:
    pop dword [pf_code]
    mov eax, cr2
    mov [pf_address], eax
    mov dword [PT + (HOLE >> 12) * 4], FRAME | 7
    invlpg [eax]
    iretd

double_fault:
    pop eax                     ; the error code: 0
    test eax, eax
    jnz fail
    mov esi, msg_double
    call print
    mov al, 0x33
    out DEBUG_EXIT_PORT, al
    hlt

unexpected:
    mov esi, msg_unexpected
    call print
    jmp fail

; Prints the zero-terminated string at ESI on the debug console.
print:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp print
.done:
    ret

gp_code:    dd 0
pf_code:    dd 0
pf_address: dd 0
seen_cs:    dd 0
seen_ss:    dd 0
seen_esp:   dd 0
ring3_eax:  dd 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08 ring-0 code, flat, 32-bit
    dq 0x00CF92000000FFFF       ; 0x10 ring-0 data
    dq 0x00CFFA000000FFFF       ; 0x18 ring-3 code
    dq 0x00CFF2000000FFFF       ; 0x20 ring-3 data
gdt_tss:
    dq 0x0000890000000067       ; 0x28 the TSS (base filled in)
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd IDT

tss: times 104 db 0

msg_protected:  db "protected mode, own GDT and IDT", 10, 0
msg_int:        db "int 30h returned 1234abcd", 10, 0
msg_gp:         db "#GP(0048) on mov ds", 10, 0
msg_paging:     db "paging on, no PAE", 10, 0
msg_pf:         db "#PF at 00200004 code 2, mapped, dirty", 10, 0
msg_big:        db "4 MiB page read, accessed", 10, 0
msg_ring3:      db "ring 3: int 30h on the TSS stack, cli #GP", 10, 0
msg_double:     db "double fault", 10, 0
msg_unexpected: db "unexpected interrupt", 10, 0
msg_fail:       db "FAIL", 10, 0
