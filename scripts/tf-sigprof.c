// tf-sigprof.c: TensorFlow 2.18.1 (the tensorflow-cpu wheel's libtensorflow)
// aborts with heap corruption when a SIGPROF interval timer runs, without Go:
// this is why Go's CPU profiler (-cpuprofile) cannot be used on code that
// runs a session (use perf record). Build and run:
//   TF=$(scripts/provision-tf.sh --dir)
//   gcc -I$TF/include scripts/tf-sigprof.c -L$TF/lib -Wl,-rpath,$TF/lib -ltensorflow -o /tmp/tf-sigprof
//   /tmp/tf-sigprof        # no timer: completes
//   /tmp/tf-sigprof sig    # SIGPROF every 1 ms of CPU: "free(): invalid pointer"
#include <tensorflow/c/c_api.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
static volatile long hits;
static void h(int s){ hits++; }
static void nodealloc(void* d, size_t l, void* a){}
int main(int argc,char**argv){
  int usesig = argc>1;
  TF_Status*st=TF_NewStatus(); TF_Graph*g=TF_NewGraph();
  TF_OperationDescription*d=TF_NewOperation(g,"Placeholder","x");
  TF_SetAttrType(d,"dtype",TF_FLOAT); TF_Operation*x=TF_FinishOperation(d,st);
  int64_t dims[2]={512,512}; TF_Tensor*w=TF_AllocateTensor(TF_FLOAT,dims,2,512*512*4);
  float*wd=TF_TensorData(w); for(int i=0;i<512*512;i++) wd[i]=0.001f*(i%7);
  d=TF_NewOperation(g,"Const","w"); TF_SetAttrTensor(d,"value",w,st); TF_SetAttrType(d,"dtype",TF_FLOAT); TF_Operation*wc=TF_FinishOperation(d,st);
  d=TF_NewOperation(g,"MatMul","y"); TF_AddInput(d,(TF_Output){x,0}); TF_AddInput(d,(TF_Output){wc,0}); TF_Operation*y=TF_FinishOperation(d,st);
  d=TF_NewOperation(g,"Relu","r"); TF_AddInput(d,(TF_Output){y,0}); TF_Operation*r=TF_FinishOperation(d,st);
  if(TF_GetCode(st)!=TF_OK){printf("graph: %s\n",TF_Message(st));return 1;}
  TF_SessionOptions*so=TF_NewSessionOptions(); TF_Session*s=TF_NewSession(g,so,st);
  if(usesig){ struct sigaction sa; memset(&sa,0,sizeof sa); sa.sa_handler=h; sa.sa_flags=SA_RESTART; sigaction(SIGPROF,&sa,0);
    struct itimerval it={{0,1000},{0,1000}}; setitimer(ITIMER_PROF,&it,0);}
  int sizes[]={1,64,4096,1,4096};
  for(int k=0;k<5;k++){ int n=sizes[k];
    for(int it=0; it< (n==4096?200:5000); it++){
      int64_t xd[2]={n,512}; TF_Tensor*xt=TF_AllocateTensor(TF_FLOAT,xd,2,(size_t)n*512*4); memset(TF_TensorData(xt),0,(size_t)n*512*4);
      TF_Output in={x,0}, out={r,0}; TF_Tensor*o=NULL;
      TF_SessionRun(s,NULL,&in,&xt,1,&out,&o,1,NULL,0,NULL,st);
      if(TF_GetCode(st)!=TF_OK){printf("run: %s\n",TF_Message(st));return 1;}
      TF_DeleteTensor(xt); TF_DeleteTensor(o);
    }
    printf("batch %d done, signals %ld\n",n,hits); fflush(stdout);
  }
  return 0;
}
