// Which cuts of a product leave oneDNN's sgemm bits unchanged? Computes out = A·Wᵀ (+ bias)
// whole, then in two row pieces cut at every multiple of 16, in fixed row tiles, in two column
// pieces and in fixed column tiles, and says which differ from the whole product in any bit.
// On an AVX2-only AMD EPYC (Zen 2, 2026-12-04) most cuts differ: the sum over K is blocked by
// the sizes each call is given. So bertqa's tiles are sized from the shape and core count alone
// (`LinearTiles`), never from timing. Dev probe; CI never runs it.
//
//   gcc -O2 scripts/probes/probe_sgemm_cuts.c -o /tmp/probe_sgemm_cuts -ldnnl && OMP_NUM_THREADS=1 /tmp/probe_sgemm_cuts
//   ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 /tmp/probe_sgemm_cuts     # the AVX2 kernels on an AVX-512 host
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static float *rnd(long n, unsigned *s){float*p=malloc(n*4);for(long i=0;i<n;i++){*s=*s*1103515245u+12345u;p[i]=((*s>>8)%2001)/1000.f-1;}return p;}
// C[rows r0..r1, cols c0..c1] = A Bt (+bias)
static void block(const float*A,const float*W,const float*bias,float*C,int M,int K,int N,int r0,int r1,int c0,int c1){
  float*o=C+(long)r0*N+c0; int m=r1-r0,n=c1-c0;
  if(bias) for(int r=0;r<m;r++) memcpy(o+(long)r*N,bias+c0,n*4);
  dnnl_sgemm('N','T',m,n,K,1.f,A+(long)r0*K,K,W+(long)c0*K,K,bias?1.f:0.f,o,N);
}
int main(int argc,char**argv){
  int shapes[][3]={{300,96,48},{1100,64,48},{384,96,1152},{40,128,256},{6144,384,384},{6144,384,1152},{6144,384,1536},{6144,1536,384},{384,768,768},{384,768,3072},{384,3072,768},{1536,768,768},{1536,3072,768}};
  int ns=sizeof shapes/sizeof shapes[0];
  for(int s=0;s<ns;s++){int M=shapes[s][0],K=shapes[s][1],N=shapes[s][2];unsigned seed=7+s;
    float*A=rnd((long)M*K,&seed),*W=rnd((long)N*K,&seed),*b=rnd(N,&seed);
    float*ref=calloc((long)M*N,4),*C=calloc((long)M*N,4);
    for(int usebias=0;usebias<2;usebias++){ const float*bias=usebias?b:NULL;
    block(A,W,bias,ref,M,K,N,0,M,0,N);
    printf("%5dx%4d->%4d bias=%d rows:",M,K,N,usebias);
    // row cuts at multiples of 16 (two pieces)
    int bad=0,tried=0;
    for(int cut=16;cut<M-15;cut+= (M>2000?256:16)){tried++;
      block(A,W,bias,C,M,K,N,0,cut,0,N);block(A,W,bias,C,M,K,N,cut,M,0,N);
      if(memcmp(C,ref,(long)M*N*4))bad++;}
    printf(" 2-piece %d/%d differ;",bad,tried);
    // fixed row blocks
    int Rs[]={16,32,64,128,256,512};
    for(int ri=0;ri<6;ri++){int R=Rs[ri];for(int r=0;r<M;r+=R)block(A,W,bias,C,M,K,N,r,r+R<M?r+R:M,0,N);
      printf(" R%d:%s",R,memcmp(C,ref,(long)M*N*4)?"DIFF":"ok");}
    printf(" | cols:");
    bad=0;tried=0;
    for(int cut=16;cut<N;cut+=16){tried++;block(A,W,bias,C,M,K,N,0,M,0,cut);block(A,W,bias,C,M,K,N,0,M,cut,N);
      if(memcmp(C,ref,(long)M*N*4))bad++;}
    printf(" 2-piece %d/%d differ;",bad,tried);
    int Cs[]={16,32,64,128};
    for(int ci=0;ci<4;ci++){int R=Cs[ci];for(int c=0;c<N;c+=R)block(A,W,bias,C,M,K,N,0,M,c,c+R<N?c+R:N);
      printf(" C%d:%s",R,memcmp(C,ref,(long)M*N*4)?"DIFF":"ok");}
    printf("\n");}
  }
}
