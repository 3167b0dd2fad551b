; vga-fill13.asm -- vga-fill.asm in mode 13h (320x200x256, the window plain memory).
%define MODE 0x13
%include "bench/vga-fill.asm"
