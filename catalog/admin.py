from django import forms
from django.contrib import admin

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

    @admin.display(description="engines")
    def engines(self, obj: CatalogModel) -> str:
        return ", ".join(obj.engine_labels)
