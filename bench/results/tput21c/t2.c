#define _GNU_SOURCE
#include <sys/mman.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_utime.tv_sec+u.ru_stime.tv_sec+(u.ru_utime.tv_usec+u.ru_stime.tv_usec)/1e6;}
static long flt(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_minflt;}
int main(){ size_t l=64<<20;
 for(int mode=0;mode<4;mode++){ char*p=mmap(0,l,PROT_READ|PROT_WRITE,MAP_ANONYMOUS|MAP_PRIVATE,-1,0);
 double c=cpu();long f=flt(); int r1=0,r2=0;
 if(mode==1||mode==3) r1=madvise(p,l,MADV_HUGEPAGE);
 if(mode>=2) r2=madvise(p,l,23);
 for(size_t i=0;i<l;i+=4096)p[i]=1;
 printf("mode %d r %d %d (%s) cpu %.1f ms faults %ld\n",mode,r1,r2,strerror(errno),(cpu()-c)*1e3,flt()-f); munmap(p,l);}
}
