from django import forms
from django.contrib import admin

from access import audit
from catalog.models import ENGINES, CatalogModel


class CatalogModelForm(forms.ModelForm):
    supported_engines = forms.MultipleChoiceField(
        choices=ENGINES.items(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = CatalogModel
        fields = [
            "slug",
            "name",
            "hf_repo_id",
            "description",
            "size_label",
            "task",
            "parameters_billions",
            "weight_format",
            "context_length",
            "supported_engines",
            "min_gpu_memory_gb",
            "default_tp",
            "license",
            "gated",
            "published",
        ]


class EngineFilter(admin.SimpleListFilter):
    title = "engine"
    parameter_name = "engine"

    def lookups(self, request, model_admin):
        return ENGINES.items()

    def queryset(self, request, queryset):
        if self.value() in ENGINES:
            return queryset.filter(supported_engines__icontains=f'"{self.value()}"')
        return queryset


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    form = CatalogModelForm
    list_display = [
        "name",
        "size_label",
        "weight_format",
        "engines",
        "min_gpu_memory_gb",
        "published",
    ]
    list_editable = ["published"]
    list_filter = ["task", EngineFilter, "license", "gated", "published"]
    search_fields = ["name", "hf_repo_id", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        changed = ", ".join(form.changed_data) or "nothing"
        summary = f"{'changed' if change else 'added'} {obj.slug}: {changed}"
        with audit.recorded(request, "catalog-edit", name=obj.slug, summary=summary):
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with audit.recorded(request, "catalog-delete", name=obj.slug):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.display(description="engines")
    def engines(self, obj: CatalogModel) -> str:
        return ", ".join(obj.engine_labels)
