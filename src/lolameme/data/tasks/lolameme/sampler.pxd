# C types for the compiled copy of sampler.py (see setup.py); the pure module ignores
# this file. Only loop counters, indices and flags get C types; values, texts and
# containers stay Python objects, so the compiled module computes exactly what the
# pure one does (tests/data/test_compiled.py checks it row for row).
import cython


cdef class _Draft:
    cdef public list lola, deps_of, chain, recalls, global_names
    cdef public object meme, nodes, needs_recall
    cdef public dict env, last_def
    cdef public bint zero
    cdef public Py_ssize_t latent


cdef class ItemSampler:
    cdef public Py_ssize_t n, dmin, dmax
    cdef public double plain, p_global_assign, constant_share, meme_share
    cdef public object noise, locals, consts, rejected, int_min, int_span  # ints of any size
    cdef public tuple globals
    cdef public frozenset gset
    cdef public dict var, meme_name, lmods, gleaves, own, joins
    cdef public list gleaf_list

    @cython.locals(dmin=Py_ssize_t, span=Py_ssize_t, plain=double, total=Py_ssize_t,
                   j=Py_ssize_t, new=Py_ssize_t, depths=list)
    cpdef list _depths(self, rnd, slots_needed)

    @cython.locals(n=Py_ssize_t, total=Py_ssize_t, slot=Py_ssize_t, n_globals=Py_ssize_t,
                   n_locals=Py_ssize_t, p_assign=double, cshare=double, nops=Py_ssize_t,
                   j=Py_ssize_t, d=Py_ssize_t, k=Py_ssize_t, r=Py_ssize_t,
                   statements=list, assigned=list, leaves=list, mand=dict, joins=list,
                   depths=list, globals_=tuple, gleaves=dict, gleaf_list=list, own=dict,
                   joins_of=tuple)
    cpdef tuple _natural(self, rng, mode, dialect, mandatory)

    @cython.locals(j=Py_ssize_t, i=Py_ssize_t, recall=Py_ssize_t, longest=Py_ssize_t,
                   latent=Py_ssize_t, where=Py_ssize_t, modified=Py_ssize_t, code=Py_ssize_t,
                   is_meme=bint, with_nodes=bint, chain_left=bint, draft=_Draft, deps=list,
                   env=dict, lmods=dict, var=dict, meme_name=dict, last_def=dict, chain=list,
                   global_names=list, deps_of=list, recalls=list, lines=list, leaves=list,
                   joins=list)
    cpdef _Draft _realise(self, statements, dialect, recall_mode)

    @cython.locals(top=Py_ssize_t, dep=Py_ssize_t, slice_globals=Py_ssize_t, last_def=dict,
                   deps_of=list, recalls=list, in_slice=set, stack=list)
    cpdef tuple _close(self, _Draft draft, assigned, mode, output, rnd)

    @cython.locals(draft=_Draft, depths=list, global_names=list)
    cpdef tuple draw(self, rng, policy, mandatory=*)
