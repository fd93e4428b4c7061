-- Parley: the comparison playground's saved comparisons (per user, reopenable) and the
-- blind-vote leaderboard read.

create table if not exists public.comparisons (
  id text primary key,                            -- chosen by the app (a uuid)
  user_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  title text not null default '',
  data jsonb not null                             -- columns, turns, answers, votes
);
create index if not exists comparisons_user_updated_idx on public.comparisons (user_id, updated_at desc);

alter table public.comparisons enable row level security;
revoke all on table public.comparisons from public, anon, authenticated;
grant select on table public.comparisons to authenticated;
grant select, insert, update, delete on table public.comparisons to service_role;
drop policy if exists comparisons_read_own on public.comparisons;
create policy comparisons_read_own on public.comparisons for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
drop policy if exists comparisons_service on public.comparisons;
create policy comparisons_service on public.comparisons
  for all to service_role using (true) with check (true);

-- Insert or replace one comparison by id; a row stored under another user is left alone.
create or replace function public.parley_save_comparison(p_comparison jsonb) returns void
language sql volatile
set search_path = public, pg_temp
as $$
  insert into public.comparisons as c (id, user_id, created_at, updated_at, title, data)
  select v.id, v.user_id, coalesce(v.created_at, now()), coalesce(v.updated_at, now()),
         coalesce(v.title, ''), v.data
  from jsonb_to_record(p_comparison) as v(id text, user_id text, created_at timestamptz,
       updated_at timestamptz, title text, data jsonb)
  on conflict (id) do update set updated_at = excluded.updated_at, title = excluded.title,
    data = excluded.data
  where c.user_id = excluded.user_id
$$;

-- A user's saved comparisons, most recently updated first (row-level security applies).
create or replace function public.parley_comparisons(p_user_id text, p_limit integer default 20)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'user_id', user_id,
                  'created_at', created_at, 'updated_at', updated_at, 'title', title,
                  'data', data) order by updated_at desc, id), '[]'::jsonb)
  from (select * from public.comparisons where user_id = p_user_id
        order by updated_at desc, id limit greatest(p_limit, 1)) c
$$;

-- Blind-vote results per model, from votes between at least two different models; each
-- model counts once per vote. Win rate and ordering are computed by the caller.
create or replace function public.parley_leaderboard(p_user_id text default null) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  with voted as (
    select v.id, v.winner, v.costs, v.latencies, v.models from public.votes v
    where (p_user_id is null or v.user_id = p_user_id)
      and (select count(distinct e.model) from jsonb_array_elements_text(v.models) as e(model)) >= 2
  ), per_model as (
    select distinct voted.id, e.model, voted.winner, voted.costs ->> e.model as cost,
           voted.latencies ->> e.model as latency
    from voted cross join lateral jsonb_array_elements_text(voted.models) as e(model)
  ), agg as (
    select model, count(*) as votes,
           count(*) filter (where winner = model) as wins,
           count(*) filter (where winner = 'tie') as ties,
           count(*) filter (where winner is null) as both_bad,
           count(*) filter (where winner is not null and winner not in (model, 'tie')) as losses,
           avg(cost::numeric) as avg_cost, count(cost) as priced_answers,
           avg(latency::numeric) as avg_latency_ms
    from per_model group by model
  )
  select coalesce(jsonb_agg(to_jsonb(agg) order by model), '[]'::jsonb) from agg
$$;

revoke execute on function public.parley_save_comparison(jsonb) from public, anon, authenticated;
grant execute on function public.parley_save_comparison(jsonb) to service_role;
revoke execute on function public.parley_comparisons(text, integer) from public, anon;
grant execute on function public.parley_comparisons(text, integer) to authenticated, service_role;
revoke execute on function public.parley_leaderboard(text) from public, anon;
grant execute on function public.parley_leaderboard(text) to authenticated, service_role;
