import subprocess,sys
def load(f,tid,mode,sort):
    out=subprocess.run(['perf','report','-i',f,'--tid',str(tid),mode,'--sort',sort,'-g','none','--stdio','-t','|'],capture_output=True,text=True).stdout
    d={}
    for line in out.splitlines():
        if line.startswith('#') or not line.strip(): continue
        p=[x.strip() for x in line.split('|')]
        pct=float(p[0].rstrip('%'))
        key=' '.join(x for x in p[1:] if x and not x.endswith('%'))
        d[key]=d.get(key,0)+pct
    return d
fa,ta_id,na,tot_a,fb,tb_id,nb,tot_b,top,mode,sort=sys.argv[1:12]
a=load(fa,ta_id,mode,sort); b=load(fb,tb_id,mode,sort)
rows=[]
for k in set(a)|set(b):
    ua=a.get(k,0)/100*float(tot_a)/int(na)*1000; ub=b.get(k,0)/100*float(tot_b)/int(nb)*1000
    rows.append((ua-ub,ua,ub,k))
rows.sort(reverse=True)
print("sum a %.2f b %.2f"%(sum(r[1] for r in rows),sum(r[2] for r in rows)))
for r in rows[:int(top)]: print("%7.2f %7.2f %7.2f  %s"%(r[0],r[1],r[2],r[3][:120]))
