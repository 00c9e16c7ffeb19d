#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/mman.h>
#include <stdlib.h>
void* mmap(void*a,size_t l,int p,int f,int fd,off_t o){
 static void*(*real)(void*,size_t,int,int,int,off_t);
 if(!real) real=dlsym(RTLD_NEXT,"mmap");
 if(l>=(32u<<20) && (f&MAP_ANONYMOUS) && getenv("SHIM_MODE")){
   void*r=real(a,l,p,f&~MAP_POPULATE,fd,o);
   if(r!=MAP_FAILED){madvise(r,l,MADV_HUGEPAGE);madvise(r,l,23);}
   return r;}
 return real(a,l,p,f,fd,o);}
