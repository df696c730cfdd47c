# SPDX-License-Identifier: Apache-2.0
# BPF programs: vmlinux.h generated from the kernel's BTF, each NAME.bpf.c compiled
# with clang and embedded through a bpftool skeleton (NAME.skel.h in BPF_GEN_DIR).
# Used by agent/ (the sampler) and symbolizer/ (kernel names).
set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})
set(VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "kernel BTF used to generate vmlinux.h")
add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${VMLINUX_BTF}"
  VERBATIM)
# A target, so that skeletons in other directories can wait for it.
add_custom_target(vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

# The BPF target architecture (bpf_tracing.h's __TARGET_ARCH_*) follows the machine
# smolder is built for. Only x86_64 is supported: sampler.bpf.c and sample_record.h
# stop an arm64 build with #error at the code that needs porting (the registers).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "smolder supports x86_64 only, not ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# smolder_bpf_skeleton(NAME HEADER): NAME.bpf.c (+ the HEADER it shares with user
# space) -> NAME.skel.h
function(smolder_bpf_skeleton name header)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${name}.bpf.c)
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH} -Wall -Werror
            -I${BPF_GEN_DIR} -I${CMAKE_CURRENT_SOURCE_DIR} -c ${src} -o ${obj}
    DEPENDS ${src} ${CMAKE_CURRENT_SOURCE_DIR}/${header} ${BPF_GEN_DIR}/vmlinux.h
    COMMENT "Compiling BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "Generating ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${skel})
  add_dependencies(${name}_skel vmlinux_h)
endfunction()
