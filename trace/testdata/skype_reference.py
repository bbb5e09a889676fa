# Independent reference for trace tests: plain Python 3 (no numpy), reads
# ../shared/data/skype_eth_5.csv and prints counts, quantiles (linear
# interpolation), means, stds, burst/gap/row counts. Run: python3 skype_reference.py
import csv, statistics, os
rows=list(csv.DictReader(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/skype_eth_5.csv'), newline='')))
def us(r):
    h,m,s=r['time'].split(':'); 
    if '.' in s: a,b=s.split('.'); b=(b+'000000')[:6]
    else: a,b=s,'0'
    return ((int(h)*60+int(m))*60+int(a))*10**6+int(b)
A='192.168.1.133'
P=[(us(r), int(r['size']), 0 if r['src']==A else 1) for r in rows]
def q(xs,p):
    xs=sorted(xs); n=len(xs); h=(n-1)*p; i=int(h); 
    return xs[i] if i+1>=n else xs[i]+(h-i)*(xs[i+1]-xs[i])
def summ(name,xs):
    print(name,len(xs),min(xs),q(xs,.25),q(xs,.5),q(xs,.75),max(xs),round(statistics.mean(xs),4),round(statistics.stdev(xs),4))
for s in (0,1):
    summ('size%d'%s,[p[1] for p in P if p[2]==s])
    t=[p[0] for p in P if p[2]==s]; d=[b-a for a,b in zip(t,t[1:])]
    print(' neg iat',[x for x in d if x<0])
    summ('iat%d'%s,[x for x in d if x>=0])
# bursts
B=[]
for i,p in enumerate(P):
    if B and B[-1]['s']==p[2]: b=B[-1]; b['n']+=1; b['last']=p[0]; b['neg'] |= p[0]<P[i-1][0]
    else: B.append(dict(s=p[2],n=1,first=p[0],last=p[0],neg=False,i=i))
for s in (0,1): summ('burst%d'%s,[b['n'] for b in B if b['s']==s])
for s in (0,1):
    g=[B[k+1]['first']-B[k]['last'] for k in range(len(B)-1) if B[k]['s']==s]
    print(' neg gaps',[x for x in g if x<0])
    summ('gap after %d'%s,[x for x in g if x>=0])
print('neg merged', [(i,P[i][0]-P[i-1][0]) for i in range(1,len(P)) if P[i][0]<P[i-1][0]])
print('burst with neg', [(b['s'],b['n'],b['i']) for b in B if b['neg']])
print('nbursts',len(B), B[0]['s'], B[-1]['s'])
k=[j for j,b in enumerate(B) if b['neg']][0]
print('stepped burst', k, B[k], 'next', B[k+1]['n'], B[k+1]['s'])
print('first burst', B[0]['n'], B[0]['s'])
# client=A=0 side. PacketRows client: packets of A bursts after first burst, minus neg
pa=sum(b['n'] for b in B[1:] if b['s']==0)-1
pb=sum(b['n'] for b in B[1:] if b['s']==1)-B[k+1]['n']
print('packetrows client',pa,'server',pb)
# a few cond values for the first server burst row: opp = B[0]
b0=B[0]; print('B0', b0, 'bytes', sum(P[i][1] for i in range(b0['i'], b0['i']+b0['n'])))
print('B1', B[1], 'gap', B[1]['first']-B[0]['last'])
print('dur', P[-1][0]-P[0][0], 'start', P[0][0])
