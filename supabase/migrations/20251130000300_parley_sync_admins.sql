-- Parley: one source of admins. parley.admins (the configuration) is copied into parley_admins
-- at start and by `python -m core db upgrade`, through parley_sync_admins; user ids are
-- compared lower-cased, as the app normalises them (Bob@x.com and bob@x.com are one user).

create or replace function public.parley_sync_admins(p_admins jsonb) returns integer
language plpgsql security definer
set search_path = public, pg_temp
as $$
declare
  wanted text[];
  kept integer;
begin
  select coalesce(array_agg(distinct lower(btrim(a))), '{}') into wanted
  from jsonb_array_elements_text(coalesce(p_admins, '[]'::jsonb)) as a
  where btrim(a) <> '';
  delete from public.parley_admins where not (user_id = any (wanted));
  insert into public.parley_admins (user_id)
  select unnest(wanted)
  on conflict (user_id) do nothing;
  select count(*) into kept from public.parley_admins;
  return kept;
end
$$;

revoke execute on function public.parley_sync_admins(jsonb) from public, anon, authenticated;
grant execute on function public.parley_sync_admins(jsonb) to service_role;

create or replace function public.parley_is_admin() returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
  select coalesce(
      nullif(current_setting('request.jwt.claims', true), '')::jsonb
        -> 'app_metadata' ->> 'role' = 'admin', false)
    or exists (select 1 from public.parley_admins
               where user_id = lower(public.parley_current_user_id()))
$$;
